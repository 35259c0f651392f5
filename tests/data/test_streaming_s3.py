"""data=streaming against real object storage: an S3-compatible server (moto's) started on localhost by the test.

colorgan-prepare writes into ``s3://bucket/prefix``, a run trains from it, stops and resumes with the photos of an
uninterrupted run. A missing bucket, an endpoint that does not answer and credentials the server does not know stop
prepare and training at once with the URL and what to check, and nothing is written to the bucket.

The server runs as its own process with IAM authentication on (``INITIAL_NO_AUTH_ACTION_COUNT``: the first three
requests, which create the test's user, its key and its policy, go unchecked; every later one must be signed with
that key), so wrong credentials are refused as a real S3 refuses them. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_streaming import STREAM, StepNames

from colorgan.data.storage import StorageError
from colorgan.prepare import main as prepare_main
from colorgan.train import train

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

BUCKET = "colorgan-photos"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A local S3 server with authentication on, one user allowed everything and an empty bucket: the endpoint
    URL and the user's key."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "AWS_DEFAULT_REGION": "us-east-1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the moto server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        client = dict(endpoint_url=endpoint, region_name="us-east-1")
        iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **client)
        iam.create_user(UserName="colorgan")
        key = iam.create_access_key(UserName="colorgan")["AccessKey"]
        iam.put_user_policy(UserName="colorgan", PolicyName="all", PolicyDocument=ALLOW_ALL)
        s3 = boto3.client(
            "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **client
        )
        s3.create_bucket(Bucket=BUCKET)
        yield {"endpoint": endpoint, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture
def aws(s3_server: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The server's user's key in the environment, as a user sets it; no ~/.aws files or instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server["secret"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return s3_server


def _objects(server: dict[str, str], prefix: str = "") -> list[str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=server["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=server["key"],
        aws_secret_access_key=server["secret"],
    )
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


@pytest.mark.slow
def test_prepare_into_s3_then_train_stop_and_resume_from_it(aws, photo_root, compose_cfg, tmp_path):
    url = f"s3://{BUCKET}/sports"
    assert (
        prepare_main([str(photo_root), url, "--size", "64", "--workers", "1", "--endpoint-url", aws["endpoint"]]) == 0
    )
    stored = _objects(aws, "sports/")
    for split in ("train", "val", "test"):
        assert f"sports/{split}/index.json" in stored
        assert any(k.startswith(f"sports/{split}/chunk-") for k in stored), stored

    cache = tmp_path / "chunks"
    common = (
        *STREAM,
        f"data.input_dir={url}",
        f"data.endpoint_url={aws['endpoint']}",
        f"data.cache_dir={cache}",
        "trainer.max_epochs=1",
    )
    StepNames.steps = []
    train(compose_cfg(*common, experiment=None, output="whole"))
    whole = list(StepNames.steps)
    assert len(whole) == 4 and len({n for _, _, names in whole for n in names}) == 16
    assert any(cache.rglob("chunk-*.bin")), "the chunks were fetched into data.cache_dir"

    StepNames.steps = []
    train(compose_cfg(*common, "trainer.max_steps=4", experiment=None, output="cut"))  # 2 of 4 batches
    StepNames.steps = []
    train(compose_cfg(*common, "ckpt_path=last", experiment=None, output="cut"))
    assert StepNames.steps == whole[2:]
    assert _objects(aws, "sports/") == stored, "training wrote nothing to the data"


def test_bad_bucket_endpoint_or_credentials_stop_at_once_and_write_nothing(
    aws, photo_root, compose_cfg, tmp_path, monkeypatch, capsys
):
    before = _objects(aws)
    cases = {
        "missing bucket": ("s3://no-such-bucket/p", aws["endpoint"], {}, "does not exist"),
        "unreachable endpoint": (f"s3://{BUCKET}/p", "http://127.0.0.1:9", {}, "does not answer"),
        "wrong credentials": (
            f"s3://{BUCKET}/p",
            aws["endpoint"],
            {"AWS_ACCESS_KEY_ID": "AKIANOTAKEY000000000", "AWS_SECRET_ACCESS_KEY": "wrong"},
            "AWS_ACCESS_KEY_ID",
        ),
    }
    for case, (url, endpoint, env, advice) in cases.items():
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            started = time.monotonic()
            assert (
                prepare_main([str(photo_root), url, "--size", "32", "--workers", "1", "--endpoint-url", endpoint]) == 2
            ), case
            err = capsys.readouterr().err
            assert url in err and advice in err, (case, err)
            if "endpoint" in case:
                assert endpoint in err
            cfg = compose_cfg(
                "data=streaming",
                f"data.input_dir={url}",
                f"data.endpoint_url={endpoint}",
                f"data.cache_dir={tmp_path / 'chunks'}",
                experiment=None,
                output=case.replace(" ", "_"),
            )
            with pytest.raises(StorageError, match=advice) as raised:
                train(cfg)
            assert url in str(raised.value), case
            assert time.monotonic() - started < 60, f"{case}: not at once"
    assert _objects(aws) == before, "nothing was written to the bucket"
    s3 = boto3.client(
        "s3",
        endpoint_url=aws["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=aws["key"],
        aws_secret_access_key=aws["secret"],
    )
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET], "no bucket was created"
