"""The page in a real headless Chromium: drop a photo and a broken file, colorize, download, look at it."""

from __future__ import annotations

import functools
import http.server
import json
import math
import re
import shutil
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import colorgan

from helpers.app import RunningApp, ab_distance, multipart_upload, photo, start_app, stop_app
from helpers.browser import BrowserUnavailable, chromium_page

GREEN = "#2e8b57"
TIMEOUT_MS = 120_000  # a loaded 2-core machine; the tiny model itself takes well under a second


@pytest.mark.slow
def test_drop_colorize_download_in_a_browser(running_app: RunningApp, tmp_path: Path) -> None:
    grandma = tmp_path / "grandma.jpg"
    photo(100, 150, "L", seed=7).save(grandma, quality=95)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n and then nothing a decoder wants")
    shot = tmp_path / "page.png"

    try:
        with chromium_page() as page:
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(running_app.url + "/")
            page.locator("#photos input[type=file]").set_input_files([str(grandma), str(broken)])
            for name in ("grandma.jpg", "broken.png"):  # a file gets its link once it is on the server
                page.locator(f'#photos a[download="{name}"]').wait_for()
            page.locator("#colorize").click()

            error = page.locator(".colorgan-error")
            error.wait_for()
            page.locator(".colorgan-download").first.wait_for()
            assert error.count() == 1
            assert error.get_attribute("data-name") == "broken.png"
            assert "broken.png could not be colorized: not a readable image" in error.inner_text()
            page.get_by_text("Colorized 1 of 2 photo(s) with last.ckpt; 1 could not be done").wait_for()

            # the before/after slider shows both halves at the photo's own resolution
            sizes = page.locator("#row-0 img").evaluate_all(
                "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])"
            )
            assert sizes and all(tuple(s) == (150, 100) for s in sizes), sizes

            with page.expect_download() as info:
                page.locator(".colorgan-download").first.click()
            download = info.value
            assert download.suggested_filename == "grandma.jpg"
            result = tmp_path / "downloaded.jpg"
            download.save_as(result)

            with page.expect_download() as info:
                page.locator("#download-all").click()
            archive = tmp_path / "all.zip"
            info.value.save_as(archive)

            page.locator("#row-0").scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=True)
    except BrowserUnavailable as err:
        pytest.fail(f"the browser test cannot run: {err}")

    colour = Image.open(result)
    assert colour.format == "JPEG" and colour.size == Image.open(grandma).size == (150, 100)
    rgb = np.asarray(colour.convert("RGB"), dtype=np.float32)
    gray = np.asarray(Image.open(grandma).convert("L"), dtype=np.float32)
    assert np.abs(rgb.mean(axis=2) - gray).mean() < 12  # the photo itself, coloured, not something else
    with zipfile.ZipFile(archive) as zipped:
        (name,) = zipped.namelist()
        assert re.fullmatch(r"colorized-job-\d+/grandma\.jpg", name), name  # in a folder: never over the original
        assert zipped.read(name) == result.read_bytes()
    screenshot = Image.open(shot)
    assert screenshot.format == "PNG" and screenshot.width >= 1000 and screenshot.height >= 600


@pytest.mark.slow
def test_progress_and_a_busy_button_are_visible_while_a_job_runs(running_app: RunningApp, tmp_path: Path) -> None:
    # three 12 MP photos: a few seconds of work, long enough to look at the page while it runs
    files = []
    for i in range(3):
        files.append(tmp_path / f"big_{i}.jpg")
        Image.linear_gradient("L").resize((4000, 3000)).save(files[-1], quality=90)
    shot = tmp_path / "busy.png"
    try:
        with chromium_page() as page:
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(running_app.url + "/")
            page.locator("#photos input[type=file]").set_input_files([str(f) for f in files])
            for f in files:
                page.locator(f'#photos a[download="{f.name}"]').wait_for()
            page.locator("#colorize").click()

            progress = page.locator("#status .progress-level-inner", has_text="Colorizing big_")
            progress.wait_for()
            # seen, not just present: the point at the middle of the progress text shows that text
            shown = progress.evaluate(
                """el => { const r = el.getBoundingClientRect();
                           const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                           return r.width > 0 && r.height > 0 && !!hit && el.contains(hit); }"""
            )
            busy = page.locator("#colorize").evaluate("b => [b.disabled, b.innerText.trim()]")
            page.screenshot(path=str(shot))
            assert shown, "the progress text is hidden (clipped or covered)"
            assert busy == [True, "Colorizing…"], busy

            page.get_by_text("Colorized 3 of 3 photo(s)").wait_for()
            page.locator("#colorize:not([disabled])", has_text="Colorize").wait_for()  # ready for the next job
    except BrowserUnavailable as err:
        pytest.fail(f"the browser test cannot run: {err}")
    assert Image.open(shot).height > 0


@pytest.mark.slow
def test_a_site_that_resolves_to_this_computer_cannot_use_the_page(running_app: RunningApp) -> None:
    port = running_app.port
    uploads = sorted(p for p in running_app.temp_dir.rglob("*") if "results" not in p.parts)
    # the browser resolves evil.example.com to 127.0.0.1, as a rebinding DNS server makes it do
    rebinding = [f"--host-resolver-rules=MAP evil.example.com 127.0.0.1, MAP attacker.example.net 127.0.0.1:{port}"]
    try:
        with chromium_page(extra_args=rebinding) as page:
            page.set_default_timeout(TIMEOUT_MS)
            answer = page.goto(f"http://evil.example.com:{port}/")
            assert answer.status == 403 and "does not answer to the name" in page.content()
            # another site's page posts a photo to the page's real address (no preflight for a form-like POST)
            page.goto(f"http://attacker.example.net:{port}/whatever")  # any answer: we only need its origin
            sent = page.evaluate(
                """async (url) => { const form = new FormData();
                       form.append('files', new Blob(['not yours'], {type: 'image/png'}), 'planted.png');
                       try { await fetch(url, {method: 'POST', body: form, mode: 'no-cors'}); return 'sent'; }
                       catch (e) { return 'failed: ' + e; } }""",
                f"http://127.0.0.1:{port}/gradio_api/upload",
            )
            assert sent == "sent"
    except BrowserUnavailable as err:
        pytest.fail(f"the browser test cannot run: {err}")
    assert sorted(p for p in running_app.temp_dir.rglob("*") if "results" not in p.parts) == uploads  # not kept
    assert "refused POST /gradio_api/upload" in running_app.output() and "attacker.example.net" in running_app.output()


@contextmanager
def _another_local_page(folder: Path) -> Iterator[str]:
    """A plain static web server on another port of 127.0.0.1 (a dev server, a notebook, a package's server) serving
    ``folder``; yields its address."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# What a page may try against the colorgan page: upload (reading the stored path back), upload blind (no-cors: the
# answer is hidden, the file would be kept all the same), read a result, read the page's API description.
TRIES = """async ([base, kept]) => {
    const form = () => { const f = new FormData();
                         f.append('files', new Blob(['planted'], {type: 'image/png'}), 'planted.png'); return f; };
    const tries = {
        upload: () => fetch(base + '/gradio_api/upload', {method: 'POST', body: form(), credentials: 'include'})
                          .then(r => r.text().then(t => r.status + ' ' + t)),
        blind: () => fetch(base + '/gradio_api/upload', {method: 'POST', body: form(), mode: 'no-cors'})
                          .then(r => 'opaque ' + r.type),
        result: () => fetch(base + '/gradio_api/file=' + kept, {credentials: 'include'})
                          .then(r => r.text().then(t => r.status + ' ' + t)),
        info: () => fetch(base + '/gradio_api/info').then(r => r.text().then(t => r.status + ' ' + t.slice(0, 40))),
    };
    const out = {};
    for (const [name, run] of Object.entries(tries)) {
        try { out[name] = await run(); } catch (e) { out[name] = 'failed: ' + e; }
    }
    return out;
}"""


@pytest.mark.slow
def test_a_page_on_another_local_port_cannot_use_the_page(running_app: RunningApp, tmp_path: Path) -> None:
    port = running_app.port
    (kept,) = json.loads(_upload_directly(running_app, "result.txt", b"the page's result"))
    served = tmp_path / "served"
    served.mkdir()
    (served / "index.html").write_text("<!doctype html><title>a dev server</title><p>another page on this computer")
    uploads = sorted(p for p in running_app.temp_dir.rglob("*") if "results" not in p.parts)
    try:
        with _another_local_page(served) as other, chromium_page() as page:
            page.set_default_timeout(TIMEOUT_MS)
            assert page.goto(other + "/").status == 200
            for base in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
                got = page.evaluate(TRIES, [base, kept])
                # the browser gets no answer it may read: a network error for each, and the blind upload is refused
                assert all(got[name].startswith("failed: TypeError") for name in ("upload", "result", "info")), got
                assert got["blind"] == "opaque opaque", got
            # the page itself, from its own origin, still does all of it
            page.goto(running_app.url + "/")
            page.locator("#photos input[type=file]").wait_for(state="attached")
            got = page.evaluate(TRIES, [running_app.url, kept])
            assert got["upload"].startswith("200 ") and "planted.png" in got["upload"], got
            assert got["result"] == "200 the page's result" and got["info"].startswith("200 {"), got
    except BrowserUnavailable as err:
        pytest.fail(f"the browser test cannot run: {err}")
    after = sorted(p for p in running_app.temp_dir.rglob("*") if "results" not in p.parts)
    planted = [p for p in after if p not in uploads]
    # only the page's own upload was kept (a file, in a folder of its own)
    assert [p.name for p in planted if p.is_file()] == ["planted.png"], planted
    assert "refused POST /gradio_api/upload" in running_app.output()
    assert f"({other})" in running_app.output()  # the log names the other page


def _upload_directly(app: RunningApp, name: str, data: bytes) -> str:
    """Upload a file as the page would (no Origin, the page's Host); returns Gradio's answer (the stored paths)."""
    kind, body = multipart_upload(name, data)
    request = urllib.request.Request(f"{app.url}/gradio_api/upload", data=body, headers={"Content-Type": kind})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def hinted_app(hint_following_ckpt: Path, tmp_path_factory: pytest.TempPathFactory):
    """The page with a model trained with colour hints, which shows the colour points editor."""
    app = start_app("--ckpt", str(hint_following_ckpt), cwd=tmp_path_factory.mktemp("points_app"))
    yield app
    assert stop_app(app) == 0, app.output()[-3000:]


@pytest.mark.slow
def test_a_colour_point_put_on_a_real_photo_moves_its_colour(hinted_app: RunningApp, tmp_path: Path) -> None:
    cat = tmp_path / "cat.jpg"  # scikit-image's chelsea (CC0), 451 x 300; the page makes it gray
    shutil.copy(Path(colorgan.__file__).parent / "assets" / "photos" / "chelsea_color.jpg", cat)
    x, y = 300, 150  # a pixel of the photo, on the cat's fur
    shot = tmp_path / "points.png"
    try:
        with chromium_page() as page:
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(hinted_app.url + "/")
            page.locator("#photos input[type=file]").set_input_files([str(cat)])
            page.locator('#photos a[download="cat.jpg"]').wait_for()
            page.locator("#points-open").click()
            status = page.locator("#points-status")
            status.get_by_text("cat.jpg (451×300): 0 points.").wait_for()
            with page.expect_download() as info:
                page.locator("#points-download").click()
            automatic = tmp_path / "automatic.jpg"
            info.value.save_as(automatic)

            page.locator("#points-colour button.dialog-button").click()  # Gradio's picker: a dialog with a hex box
            page.locator("#points-colour input[type=text]").fill(GREEN)
            page.locator("#points-colour input[type=text]").press("Enter")
            page.locator("#points-status").click()  # closes the dialog
            page.locator("#points-size input[type=number]").fill("40")
            page.locator("#points-size input[type=number]").press("Enter")
            picture = page.locator("#points-canvas img")
            picture.evaluate("i => i.scrollIntoView({block: 'center'})")  # all of it on screen: its edges are clicked
            natural = picture.evaluate("i => [i.naturalWidth, i.naturalHeight]")
            assert natural == [451, 300]  # the picture clicked on is the photo at its own size (it fits the page)
            box = picture.bounding_box()
            scale = min(box["width"] / natural[0], box["height"] / natural[1], 1)  # Gradio's scale-down
            x0 = box["x"] + (box["width"] - natural[0] * scale) / 2
            y0 = box["y"] + (box["height"] - natural[1] * scale) / 2

            def on_pixel(px: int, py: int) -> dict[str, float]:
                """Where to click for photo pixel (px, py): a whole screen pixel inside it, as a mouse reports."""
                ax, ay = math.ceil(x0 + px * scale - 1e-6), math.ceil(y0 + py * scale - 1e-6)
                return {"x": ax - box["x"], "y": ay - box["y"]}

            # pixel (x, y), and the last pixel of the last row and column; force: at the picture's very edge the
            # block's frame is on top, where a person's click lands too
            picture.click(position=on_pixel(x, y))
            status.get_by_text("1 point. Press Colorize with points to see them.").wait_for()
            picture.click(position=on_pixel(450, 299), force=True)
            status.get_by_text("2 points. Press Colorize with points to see them.").wait_for()
            page.locator("#points-undo").click()
            status.get_by_text("1 point.").wait_for()
            picture.click(position=on_pixel(450, 299), force=True)
            status.get_by_text("2 points.").wait_for()
            page.locator("#points-colorize").click()
            status.get_by_text("2 points. The colours show them.").wait_for()
            page.locator("#points-colorize:not([disabled])", has_text="Colorize with points").wait_for()

            with page.expect_download() as info:
                page.locator("#points-download").click()
            assert info.value.suggested_filename == "cat.jpg"
            hinted = tmp_path / "hinted.jpg"
            info.value.save_as(hinted)
            with page.expect_download() as info:
                page.locator("#points-save").click()
            assert info.value.suggested_filename == "cat_points.json"
            saved = tmp_path / "cat_points.json"
            info.value.save_as(saved)
            page.screenshot(path=str(shot), full_page=True)

            # the saved points come back after Clear
            page.locator("#points-clear").click()
            status.get_by_text("0 points").wait_for()
            with page.expect_file_chooser() as chooser:
                page.locator("#points-load").click()
            chooser.value.set_files(str(saved))
            status.get_by_text("2 points. The colours show them.").wait_for()

            # a file that is not JSON is refused beside the photo: the photo and its points stay
            broken = tmp_path / "broken.json"
            broken.write_text("{ this is not json")
            with page.expect_file_chooser() as chooser:
                page.locator("#points-load").click()
            chooser.value.set_files(str(broken))
            page.locator("#points-message .colorgan-error", has_text="broken.json' is not JSON").wait_for()
            assert picture.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [451, 300]
            assert picture.is_visible() and page.locator("#points-canvas .error").count() == 0
            assert "2 points. The colours show them." in status.inner_text()
            page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    except BrowserUnavailable as err:
        pytest.fail(f"the browser test cannot run: {err}")

    file = json.loads(saved.read_text())
    point, corner = file["points"]
    assert (point["x"], point["y"]) == (x, y), point  # the pixel clicked, in photo pixels
    assert (corner["x"], corner["y"]) == (450, 299), corner  # the last column and row take clicks too
    assert point["color"] == GREEN and point["size"] == 40
    assert file["photo"] == {"width": 451, "height": 300}
    before, after = Image.open(automatic), Image.open(hinted)
    assert before.size == after.size == (451, 300)
    far, near = ab_distance(before, x, y, GREEN), ab_distance(after, x, y, GREEN)
    assert near < 0.75 * far, (far, near)
    assert Image.open(shot).height > 0
