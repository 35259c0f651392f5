"""Where a prepared photo set lives: a local folder or an object-storage URL, checked before anything is read
or written.

LitData reads and writes both (``s3://``, ``gs://``, ``r2://`` ...); this module only tells them apart and, for
S3, asks the server once whether the bucket is there and the credentials open it, so that a typo or a missing
key stops the run at once with the URL and what to check, instead of a stack trace from a worker later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

SPLITS = ("train", "val", "test")


class StorageError(RuntimeError):
    """A prepared photo set cannot be reached: the message names the URL and what to check."""


STREAM_EXTRA = "pip install 'colorgan[stream]'"


def require_stream(module: str = "litdata") -> Any:
    """Import ``module`` (LitData, or boto3 for S3) of the ``stream`` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"colorgan-prepare and data=streaming need {module.split('.')[0]}, which is not installed: {STREAM_EXTRA}"
        ) from err


def is_url(location: str) -> bool:
    """Whether ``location`` is an object-storage URL (``s3://bucket/prefix`` and the like), not a local path."""
    scheme = urlparse(str(location)).scheme
    return len(scheme) > 1  # a Windows drive letter ("C:") is one letter


def split_location(location: str, split: str) -> str:
    """The place of one split's optimized dataset under ``location`` (``OUT/train``, ``s3://b/p/train``)."""
    if is_url(location):
        return f"{str(location).rstrip('/')}/{split}"
    return str(Path(location).expanduser() / split)


def storage_options_of(endpoint_url: str | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """LitData's ``storage_options`` (boto3 client arguments for S3): ``options`` with ``endpoint_url`` added when
    given (an S3-compatible server: MinIO, Ceph, a cloud other than AWS)."""
    merged = dict(options or {})
    if endpoint_url:
        merged["endpoint_url"] = endpoint_url
    if str(merged.get("endpoint_url", "")).startswith("http://"):
        allow_plain_http()
    return merged


def allow_plain_http() -> None:
    """Let LitData's fast S3 path (obstore) talk to an ``http://`` endpoint (MinIO or Ceph in a private network,
    a local test server). Its boto3 path takes one as given, but the obstore store it builds refuses plain HTTP
    with "builder error" unless its client options allow it; LitData passes no way to say so."""
    try:
        from litdata.streaming import downloader
    except ImportError:
        return
    options = getattr(downloader, "_OBSTORE_CLIENT_OPTIONS", None)
    if isinstance(options, dict):
        options["allow_http"] = "true"


def check_reachable(location: str, storage_options: dict[str, Any] | None = None, write: bool = False) -> None:
    """Raise :class:`StorageError` when ``location`` cannot be used: a local folder that is missing (to read) or a
    bucket that is missing, closed to these credentials, or on a server that does not answer (S3).

    Only S3 is asked here; other schemes are left to LitData's own messages.
    """
    if not is_url(location):
        path = Path(location).expanduser()
        if not write and not path.is_dir():
            raise StorageError(
                f"'{location}' is not a folder. Point data.input_dir at the folder colorgan-prepare wrote "
                "(it holds train/, val/ and test/)."
            )
        return
    parsed = urlparse(location)
    if parsed.scheme != "s3":
        return
    boto3 = require_stream("boto3")
    import botocore.config
    import botocore.exceptions

    options = dict(storage_options or {})
    endpoint = options.get("endpoint_url", "the default AWS endpoint")
    config = botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})
    try:
        # a new session reads the credentials now (boto3's default session keeps the first ones it found)
        client = boto3.session.Session().client("s3", config=config, **options)
        # a listing of the prefix: reading or writing the set needs at least that
        client.list_objects_v2(Bucket=parsed.netloc, Prefix=parsed.path.lstrip("/"), MaxKeys=1)
    except botocore.exceptions.NoCredentialsError as err:
        raise StorageError(
            f"No credentials for '{location}': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)."
        ) from err
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as err:
        raise StorageError(
            f"The storage server of '{location}' ({endpoint}) does not answer: check the endpoint URL "
            "(--endpoint-url / data.endpoint_url) and the network."
        ) from err
    except botocore.exceptions.ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise StorageError(
                f"The bucket '{parsed.netloc}' of '{location}' does not exist on {endpoint}: check the URL"
                + (" or create the bucket first." if write else ".")
            ) from err
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise StorageError(
                f"The credentials do not open the bucket '{parsed.netloc}' of '{location}' ({code}): check "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's permissions."
            ) from err
        raise StorageError(f"'{location}' cannot be reached on {endpoint}: {err}") from err


def has_index(location: str, storage_options: dict[str, Any] | None = None) -> bool:
    """Whether a finished optimized dataset is at ``location`` (LitData writes ``index.json`` last)."""
    if not is_url(location):
        return (Path(location).expanduser() / "index.json").is_file()
    provider = require_stream("litdata.streaming.fs_provider")._get_fs_provider(location, dict(storage_options or {}))
    return provider.exists(f"{location.rstrip('/')}/index.json")
