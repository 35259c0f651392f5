"""colorgan-app as a server: loopback by default, only its own temporary folder served, bounded uploads, clean exit."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from PIL import Image

from colorgan.app import cli
from colorgan.app.page import require_gradio

from helpers.app import RunningApp, multipart_upload, start_app, stop_app


# ------------------------------------------------------------------ in-process
def test_without_gradio_the_error_names_the_extra(monkeypatch, tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` raises ImportError
    with pytest.raises(ImportError, match=r'pip install "colorgan\[app\]"'):
        require_gradio()
    _isolate(monkeypatch, tmp_path)
    assert cli.main(["--ckpt", str(tiny_ckpt)]) == 2
    assert 'pip install "colorgan[app]"' in capsys.readouterr().err
    assert list(tmp_path.glob("colorgan-app-*")) == []  # its temporary folder is gone


def test_a_bad_checkpoint_stops_it_before_it_serves(monkeypatch, tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"junk")
    _isolate(monkeypatch, tmp_path)
    assert cli.main(["--ckpt", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "colorgan-app: error:" in err and str(junk) in err
    assert list(tmp_path.glob("colorgan-app-*")) == []


def test_only_loopback_addresses_go_without_a_warning() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert cli.host_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "my-laptop.local"):
        warning = cli.host_warning(host)
        assert warning and f"listening on {host}" in warning and "other computers" in warning, host
    assert cli.build_parser().parse_args(["--ckpt", "m.ckpt"]).host == "127.0.0.1"
    assert cli.build_parser().parse_args(["--ckpt", "m.ckpt"]).share is False


def test_host_headers_are_parsed_strictly() -> None:
    from colorgan.app.guard import parse_authority

    assert parse_authority("127.0.0.1:7860") == ("127.0.0.1", 7860)
    assert parse_authority("LocalHost:7860") == ("localhost", 7860)
    assert parse_authority("[::1]:7860") == ("::1", 7860)
    assert parse_authority("photos.home.arpa") == ("photos.home.arpa", None)
    refused = [
        "evil.com@localhost", "evil.com@localhost:7860", "user:pw@localhost:7860",  # user names
        "localhost/.evil.com", "localhost:7860/.evil.com", "localhost?.evil.com", "localhost#.evil.com",  # paths
        "localhost:", "localhost:07860", "localhost:+7860", "localhost:99999", "localhost:7860:1", "localhost: 7860",
        "127.1:7860", "2130706433:7860", "0x7f.0.0.1:7860", "127.000.000.001:7860",  # addresses in other spellings
        "[::1]x:7860", "[0:0:0:0:0:0:0:1]:7860", "[fe80::1%eth0]:7860", "::1", "[::1",  # IPv6 written oddly
        "localhost.:7860", "-evil.com", "evil..com", "local host", "localhost\\.evil.com", "", None,
    ]
    assert [value for value in refused if parse_authority(value) is not None] == []


def test_origins_are_parsed_strictly() -> None:
    from colorgan.app.guard import Origin, parse_origin

    assert parse_origin("http://localhost:7860") == Origin("http", "localhost", 7860)
    assert parse_origin("https://photos.example.com") == Origin("https", "photos.example.com", 443)
    assert str(parse_origin("http://[::1]:7860")) == "http://[::1]:7860"
    refused = [
        "null", "localhost:7860", "file://", "ftp://localhost:7860", "http://localhost:7860/", "http://localhost:80",
        "http://u@localhost:7860", "http://localhost:7860, http://evil.example.com", "http://localhost:7860/x",
    ]
    assert [value for value in refused if parse_origin(value) is not None] == []


def test_the_page_accepts_its_own_origins_only() -> None:
    from colorgan.app.guard import PageOrigins, parse_origin

    def accepted(origins: PageOrigins, *values: str) -> list[str]:
        return [v for v in values if origins.allows(parse_origin(v))]

    local = PageOrigins("127.0.0.1", 7860)  # the default: this computer only
    assert accepted(
        local, "http://127.0.0.1:7860", "http://localhost:7860",
        "http://localhost:8000", "http://127.0.0.1:7861", "https://127.0.0.1:7860", "http://[::1]:7860",
        "http://127.0.0.2:7860", "http://evil.example.com:7860",
    ) == ["http://127.0.0.1:7860", "http://localhost:7860"]  # [::1], 127.0.0.2: not listened on, so another server
    assert local.allows_host("localhost", 7860) and not local.allows_host("localhost", None)  # no port: port 80
    assert not local.allows_host("localhost", 7861) and not local.allows_host("evil.example.com", 7860)
    v6 = PageOrigins("::1", 7860)
    assert accepted(v6, "http://[::1]:7860", "http://localhost:7860", "http://127.0.0.1:7860") == [
        "http://[::1]:7860", "http://localhost:7860",
    ]
    lan = PageOrigins("192.168.1.20", 7860, ["photos.home.arpa", "localhost:8000", "https://proxy.example.com/"])
    assert accepted(
        lan, "http://192.168.1.20:7860", "http://photos.home.arpa:7860", "http://localhost:8000",
        "https://proxy.example.com", "http://photos.home.arpa:8000", "http://localhost:7860", "http://192.168.1.21:7860",
    ) == ["http://192.168.1.20:7860", "http://photos.home.arpa:7860", "http://localhost:8000", "https://proxy.example.com"]
    assert lan.allows_host("proxy.example.com", None)  # a proxy that passes on its own Host (https, port 443)
    everywhere = PageOrigins("0.0.0.0", 7860)  # every interface: this computer's names, and the address asked for
    name = socket.gethostname().lower()
    assert accepted(everywhere, f"http://{name}:7860", "http://localhost:7860", "http://127.0.0.1:7860") == [
        f"http://{name}:7860", "http://localhost:7860", "http://127.0.0.1:7860",
    ]
    lan_address = parse_origin("http://10.1.2.3:7860")
    assert everywhere.allows(lan_address, ("10.1.2.3", 7860)) and not everywhere.allows(lan_address, ("10.9.9.9", 7860))
    assert not local.allows(lan_address, ("10.1.2.3", 7860))  # only a page on every interface owns where it is asked
    assert not everywhere.allows(parse_origin("http://evil.example.com:7860"), ("127.0.0.1", 7860))
    for bad in ("evil.com@localhost", "localhost/x", "ftp://x", "https://x/path"):
        with pytest.raises(ValueError, match="is not a host name"):
            PageOrigins("127.0.0.1", 7860, [bad])


def test_the_guard_itself_refuses_two_hosts_two_origins_or_none() -> None:
    # h11 already answers 400 to two Host headers; another HTTP parser (httptools, a proxy) may pass them on
    from starlette.datastructures import Headers

    from colorgan.app.guard import PageOrigins, RequestGuard

    guard = RequestGuard(app=None, allowed=PageOrigins("127.0.0.1", 7860))

    def refusal(*pairs: tuple[str, str]) -> str | None:
        return guard.refusal(Headers(raw=[(name.encode(), value.encode()) for name, value in pairs]))

    own, other = ("origin", "http://127.0.0.1:7860"), ("origin", "http://localhost:8000")
    assert refusal(("host", "127.0.0.1:7860"), own) is None
    for pairs in (
        [("host", "127.0.0.1:7860"), ("host", "127.0.0.1:7860")],
        [("host", "127.0.0.1:7860"), ("host", "evil.example.com")],
        [("host", "127.0.0.1:7860"), own, other],
        [("host", "127.0.0.1:7860"), own, own],
    ):
        assert "send one of each" in refusal(*pairs), pairs
    assert "does not answer to the name None" in refusal(own)  # HTTP/1.0 lets a request name no Host
    assert "another page on this computer" in refusal(("host", "127.0.0.1:7860"), other)


def test_a_bad_allowed_host_stops_it_before_it_loads_models(monkeypatch, tmp_path: Path, capsys) -> None:
    _isolate(monkeypatch, tmp_path)
    missing = tmp_path / "not-read.ckpt"  # never opened: the address is refused first
    assert cli.main(["--ckpt", str(missing), "--allowed-host", "evil.com@localhost"]) == 2
    err = capsys.readouterr().err
    assert "--allowed-host: 'evil.com@localhost' is not a host name" in err and str(missing) not in err
    assert list(tmp_path.glob("colorgan-app-*")) == []


def test_blocked_paths_never_hide_the_apps_own_folder(tmp_path: Path, monkeypatch) -> None:
    temp = tmp_path / "colorgan-app-x"
    temp.mkdir()
    ckpt = tmp_path / "runs" / "last.ckpt"
    monkeypatch.chdir(tmp_path)  # the working folder holds the app's folder: it cannot be blocked
    blocked = cli.blocked_paths(temp, [ckpt])
    assert str(ckpt.resolve()) in blocked and str(ckpt.parent.resolve()) in blocked
    assert str(tmp_path.resolve()) not in blocked and str(temp.resolve()) not in blocked
    monkeypatch.chdir(ckpt.parent.parent.parent)
    assert str(Path.cwd()) not in cli.blocked_paths(temp, [ckpt])  # an ancestor of the app's folder, again


def _isolate(monkeypatch, tmp_path: Path) -> None:
    """Let cli.main make its temporary folder under tmp_path, and undo the environment it sets for Gradio."""
    for key in cli.served_folder_settings(tmp_path):
        monkeypatch.setenv(key, "")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))


# ------------------------------------------------------------------ a real server (the session's running_app)
# Marked slow: the first of them starts the page, which imports torch and Gradio (10-20 s on a busy 2-core machine).
def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _upload(app: RunningApp, name: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    kind, body = multipart_upload(name, data)
    request = urllib.request.Request(
        f"{app.url}/gradio_api/upload", data=body, headers={"Content-Type": kind, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


# the page's colorize endpoint takes the files, the model and the side-by-side choice, then the vividness (ignored
# for a regression model such as this page's): _call adds it
VIVID = 0.38


def _call(app: RunningApp, data: list) -> str:
    """Run the page's colorize event through Gradio's HTTP API; returns its event stream."""
    request = urllib.request.Request(
        f"{app.url}/gradio_api/call/colorize", data=json.dumps({"data": [*data, VIVID]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event_id = json.load(response)["event_id"]
    return _get(f"{app.url}/gradio_api/call/colorize/{event_id}")[1].decode()


@pytest.mark.slow
def test_it_listens_on_loopback_by_default(running_app: RunningApp) -> None:
    sockets = psutil.Process(running_app.process.pid).net_connections(kind="inet")
    listening = [c for c in sockets if c.status == psutil.CONN_LISTEN]
    assert listening, "the page's process listens on no socket"
    # GRADIO_SERVER_NAME=0.0.0.0 is in its environment, and still:
    assert {(c.laddr.ip, c.laddr.port) for c in listening} == {("127.0.0.1", running_app.port)}
    assert running_app.url == f"http://127.0.0.1:{running_app.port}"
    assert "warning" not in running_app.output()
    status, page = _get(running_app.url + "/")
    assert status == 200 and b"colorgan" in page


@pytest.mark.slow
def test_only_its_own_temporary_folder_is_served(running_app: RunningApp, tiny_ckpt: Path) -> None:
    status, answer = _upload(running_app, "note.txt", b"hello")
    assert status == 200, answer
    (uploaded,) = json.loads(answer)
    assert Path(uploaded).parent.parent == running_app.temp_dir
    assert _get(f"{running_app.url}/gradio_api/file={uploaded}") == (200, b"hello")  # what the page made: served
    for path in (tiny_ckpt, running_app.cwd / "secret.txt", Path("/etc/hostname"), running_app.temp_dir):
        status, _ = _get(f"{running_app.url}/gradio_api/file={path}")
        assert status == 403, path
    sneaky = Path(os.path.relpath(running_app.cwd / "secret.txt", running_app.temp_dir))  # ../../.../secret.txt
    assert _get(f"{running_app.url}/gradio_api/file={running_app.temp_dir / sneaky}")[0] == 403


@pytest.mark.slow
def test_errors_shown_to_callers_name_no_server_paths(running_app: RunningApp, tiny_ckpt: Path) -> None:
    secrets = [str(running_app.cwd), str(Path.home()), str(tiny_ckpt.parent), str(running_app.temp_dir)]
    for path in ("secret.txt", str(Path.home() / "x.png"), str(tiny_ckpt), str(running_app.cwd / "secret.txt")):
        stream = _call(running_app, [[{"path": path, "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
        assert "event: error" in stream, stream
        leaked = [s for s in secrets if s in stream.replace(path, "<the caller's own path>")]
        assert not leaked, (path, stream)


@pytest.mark.slow
def test_ordinary_user_errors_leave_no_traceback_in_the_log(running_app: RunningApp) -> None:
    tracebacks = running_app.output().count("Traceback")
    stream = _call(running_app, [[], "last.ckpt", False])
    assert "event: error" in stream and "drop one or more photos first" in stream, stream
    (uploaded,) = json.loads(_upload(running_app, "notes.txt", b"shopping list")[1])
    stream = _call(running_app, [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
    assert "event: complete" in stream and "could not be done" in stream, stream
    time.sleep(0.5)
    assert running_app.output().count("Traceback") == tracebacks, running_app.output()[-3000:]
    assert "notes.txt: not a readable image" in running_app.output()  # one line, not a traceback


@pytest.mark.slow
def test_the_page_cannot_make_it_read_a_file_it_names(running_app: RunningApp, tmp_path: Path) -> None:
    elsewhere = tmp_path / "private.png"  # not under any blocked path: refused because nobody uploaded it
    Image.new("RGB", (20, 10), "red").save(elsewhere)
    jobs_before = sorted((running_app.temp_dir / "results").glob("job-*"))
    stream = _call(running_app, [[{"path": str(elsewhere), "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
    assert "event: error" in stream and str(elsewhere) not in stream.split("data:", 1)[1], stream  # refused, quietly
    assert sorted((running_app.temp_dir / "results").glob("job-*")) == jobs_before

    # a real upload with a checkpoint path instead of a model's label
    status, answer = _upload(running_app, "p.png", elsewhere.read_bytes())
    (uploaded,) = json.loads(answer)
    stream = _call(running_app, [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}], "/etc/passwd", False])
    assert "event: error" in stream and "not in the list of choices" in stream, stream
    # and the same upload with the model's label works: the two refusals above were not a broken API call
    stream = _call(running_app, [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
    assert "event: complete" in stream and "Colorized 1 of 1 photo(s) with last.ckpt." in stream, stream


def _uploads(app: RunningApp) -> list[Path]:
    return sorted(p for p in app.temp_dir.rglob("*") if p.is_file() and "results" not in p.parts)


@pytest.mark.slow
def test_only_its_own_names_are_answered_against_dns_rebinding(running_app: RunningApp) -> None:
    port = running_app.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert _get(running_app.url + "/", {"Host": host})[0] == 200, host
    # a site whose name resolves to 127.0.0.1 reaches the server with its own name in Host: refused, and logged
    evil = {"Host": f"evil.example.com:{port}"}
    status, answer = _get(running_app.url + "/", evil)
    assert status == 403 and b"does not answer to the name" in answer
    before = _uploads(running_app)
    assert _upload(running_app, "p.png", b"\x89PNG", evil)[0] == 403
    assert _uploads(running_app) == before  # nothing kept
    # nor can it read what earlier jobs made
    made = _call(running_app, [[{"path": json.loads(_upload(running_app, "q.png", _png_bytes())[1])[0],
                                 "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
    assert "event: complete" in made, made
    (archive,) = sorted((running_app.temp_dir / "results").glob("job-*/colorized.zip"))[-1:]
    assert _get(f"{running_app.url}/gradio_api/file={archive}")[0] == 200
    assert _get(f"{running_app.url}/gradio_api/file={archive}", evil)[0] == 403
    assert _get(f"{running_app.url}/gradio_api/info", evil)[0] == 403
    assert "refused GET /gradio_api/file=" in running_app.output()
    assert "evil.example.com" in running_app.output()


def _raw(app: RunningApp, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> tuple:
    """Send a request with exactly these headers, repeated ones and Host included (urllib sets Host itself and keeps
    one of each); returns (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.slow
def test_odd_host_headers_are_refused(running_app: RunningApp) -> None:
    port = running_app.port
    kind, body = multipart_upload("p.png", b"\x89PNG")
    before = _uploads(running_app)
    odd = [
        "evil.com@localhost", f"evil.com@localhost:{port}", f"user:pw@127.0.0.1:{port}",  # a user name before it
        "localhost/.evil.com", f"localhost:{port}/.evil.com", f"127.0.0.1:{port}?.evil.com",  # a path after it
        f"localhost:{port + 1}", "localhost", f"localhost:0{port}", "localhost:", f"localhost:{port}:{port}",  # ports
        f"127.1:{port}", f"localhost.:{port}",  # other spellings of loopback
        f"[::1]:{port}", f"127.0.0.2:{port}",  # loopback addresses the page does not listen on: another server's
    ]
    for host in odd:
        for method, path, headers, data in (
            ("GET", "/", [], b""),
            ("GET", "/gradio_api/info", [], b""),
            ("POST", "/gradio_api/upload", [("Content-Type", kind)], body),
        ):
            status, _, answer = _raw(running_app, method, path, [("Host", host), *headers], data)
            assert status == 403 and b"does not answer to the name" in answer, (host, path, status, answer)
    assert _uploads(running_app) == before  # nothing kept
    # the same requests with the page's own Host are answered: the refusals were the Host's doing
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        headers = [("Host", host), ("Content-Type", kind)]
        status, _, answer = _raw(running_app, "POST", "/gradio_api/upload", headers, body)
        assert status == 200, (host, answer)


@pytest.mark.slow
def test_pages_on_other_local_ports_are_refused(running_app: RunningApp) -> None:
    port = running_app.port
    own = f"127.0.0.1:{port}"
    kind, body = multipart_upload("p.png", b"\x89PNG")
    (kept,) = json.loads(_upload(running_app, "mine.txt", b"a result")[1])  # something the page made earlier
    before = _uploads(running_app)
    others = [
        "http://localhost:8000", "http://127.0.0.1:8000", f"http://localhost:{port + 1}",  # other local ports
        f"https://127.0.0.1:{port}", f"http://[::1]:{port}", f"http://127.0.0.2:{port}",  # other schemes, addresses
        f"http://localhost:{port}/", f"http://user@localhost:{port}",  # what no browser sends
    ]
    job = b'{"data": [[], "last.ckpt", false, 0.38]}'
    for origin in others:
        for method, path, headers, data in (
            ("POST", "/gradio_api/upload", [("Content-Type", kind)], body),
            ("POST", "/gradio_api/call/colorize", [("Content-Type", "application/json")], job),
            ("GET", f"/gradio_api/file={kept}", [], b""),
            ("GET", "/gradio_api/info", [], b""),
            # a browser's CORS preflight: Gradio answers it itself, with the origin echoed, unless the guard comes first
            ("OPTIONS", "/gradio_api/upload", [("Access-Control-Request-Method", "POST"),
                                               ("Access-Control-Request-Headers", "content-type")], b""),
        ):
            status, answer_headers, answer = _raw(
                running_app, method, path, [("Host", own), ("Origin", origin), *headers], data
            )
            assert status == 403 and b"another page on this computer" in answer, (origin, method, path, status, answer)
            cors = {k.lower(): v for k, v in answer_headers.items() if k.lower().startswith("access-control-")}
            assert cors == {}, (origin, path, cors)  # nothing that lets the other page read the answer
    assert _uploads(running_app) == before  # no file kept
    assert "refused OPTIONS /gradio_api/upload" in running_app.output()
    # the page's own origins are answered, and only they are named back
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        status, answer_headers, answer = _raw(
            running_app, "POST", "/gradio_api/upload", [("Host", own), ("Origin", origin), ("Content-Type", kind)], body
        )
        assert status == 200, (origin, answer)
        assert answer_headers.get("access-control-allow-origin") in (None, origin)


@pytest.mark.slow
def test_two_origin_or_two_host_headers_are_refused(running_app: RunningApp) -> None:
    own, evil = f"http://127.0.0.1:{running_app.port}", "http://localhost:8000"
    kind, body = multipart_upload("p.png", b"\x89PNG")
    before = _uploads(running_app)
    for headers in (
        [("Host", own[7:]), ("Origin", own), ("Origin", evil)],  # the old guard read only the first
        [("Host", own[7:]), ("Origin", evil), ("Origin", own)],
        [("Host", own[7:]), ("Origin", own), ("Origin", own)],
        [("Host", own[7:]), ("Host", own[7:])],
        [("Host", own[7:]), ("Host", "evil.example.com")],
    ):
        status, _, answer = _raw(running_app, "POST", "/gradio_api/upload", [*headers, ("Content-Type", kind)], body)
        assert status in (400, 403), (headers, status, answer)  # 400: the HTTP server itself refuses two Hosts
        if status == 403:
            assert b"send one of each" in answer, answer
    assert _uploads(running_app) == before
    assert _raw(running_app, "POST", "/gradio_api/upload", [("Host", own[7:]), ("Origin", own), ("Content-Type", kind)],
                body)[0] == 200


@pytest.mark.slow
def test_uploads_from_other_sites_are_refused(running_app: RunningApp) -> None:
    before = _uploads(running_app)
    for origin in ("http://evil.example.com", "null", f"http://evil.example.com:{running_app.port}"):
        status, answer = _upload(running_app, "p.png", b"\x89PNG", {"Origin": origin})
        assert status == 403 and "another site" in answer, (origin, answer)
    assert _uploads(running_app) == before  # no file kept
    assert "refused POST /gradio_api/upload" in running_app.output()
    # the page's own origin (a browser sends it with every POST) is answered
    for origin in (running_app.url, f"http://localhost:{running_app.port}"):
        assert _upload(running_app, "p.png", b"\x89PNG", {"Origin": origin})[0] == 200, origin


@pytest.mark.slow
def test_the_temporary_folder_keeps_only_the_newest_jobs(running_app: RunningApp) -> None:
    def job(seed: int) -> tuple[Path, Path]:
        (uploaded,) = json.loads(_upload(running_app, f"p{seed}.png", _png_bytes(seed))[1])
        stream = _call(running_app, [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
        assert "event: complete" in stream, stream
        return max((running_app.temp_dir / "results").glob("job-*"), key=lambda p: int(p.name[4:])), Path(uploaded)

    made = [job(seed) for seed in range(1, 6)]  # started with --keep-jobs 3
    jobs = sorted((running_app.temp_dir / "results").glob("job-*"))
    assert sorted(jobs) == sorted(folder for folder, _ in made[-3:])
    assert [upload.exists() for _, upload in made] == [False, False, True, True, True]
    assert (made[-1][0] / "colorized.zip").is_file()


@pytest.mark.slow
def test_memory_is_given_back_after_a_big_photo(running_app: RunningApp) -> None:
    def job(data: bytes, name: str) -> None:
        (uploaded,) = json.loads(_upload(running_app, name, data)[1])
        stream = _call(running_app, [[{"path": uploaded, "meta": {"_type": "gradio.FileData"}}], "last.ckpt", False])
        assert "event: complete" in stream, stream

    process = psutil.Process(running_app.process.pid)
    job(_png_bytes(3), "warm-up.png")  # the first job loads what every job needs (libraries, caches)
    idle = process.memory_info().rss
    big = io.BytesIO()
    # 24 MP; smooth, so that the file is under the test page's --max-upload-mb 1
    Image.linear_gradient("L").resize((6000, 4000)).save(big, format="JPEG", quality=90)
    job(big.getvalue(), "big.jpg")
    time.sleep(0.5)
    # measured: 274 MiB stayed when nothing gave it back, 64-97 MiB stay now (what the first big photo sets up once)
    grown = (process.memory_info().rss - idle) / 2**20
    assert grown < 150, f"{grown:.0f} MiB more than before the job, while idle"


def _png_bytes(seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (seed, seed, seed)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.slow
def test_uploads_over_the_size_limit_are_refused(running_app: RunningApp) -> None:
    status, answer = _upload(running_app, "huge.png", b"\0" * (1024 * 1024 + 1))  # started with --max-upload-mb 1
    assert status == 413 and "maximum allowed size" in answer
    assert _upload(running_app, "fine.png", b"\0" * 1000)[0] == 200


@pytest.mark.slow
def test_sigterm_stops_it_and_removes_its_temporary_folder(tiny_ckpt: Path, tmp_path: Path) -> None:
    # (Ctrl-C is checked when the module's running_app stops)
    app = start_app("--ckpt", str(tiny_ckpt), cwd=tmp_path)
    try:
        status, answer = _upload(app, "p.txt", b"x")
        assert status == 200 and Path(json.loads(answer)[0]).is_file()
        assert stop_app(app, signal.SIGTERM) == 0
        assert not app.temp_dir.exists()
    finally:
        stop_app(app)
        shutil.rmtree(app.temp_dir, ignore_errors=True)  # what a killed page would leave behind
