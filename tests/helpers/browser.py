"""A headless Chromium driven by Playwright, for testing the page as a person would.

Debian's ``chromium`` package (``apt-get install -y chromium``) is used through ``executable_path``: Playwright's
own browser download is not needed. ``COLORGAN_CHROMIUM`` names another Chromium binary.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Without the networking switches Chromium phones home (component updates, sync, QUIC probes); on a machine with a
# closed network those connections are refused and slow it down or stop it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing or will not start; the message says which and how to fix it."""


def chromium_path() -> str:
    """The Chromium binary to drive, or :class:`BrowserUnavailable` saying how to install it."""
    wanted = os.environ.get("COLORGAN_CHROMIUM")
    found = wanted or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        raise BrowserUnavailable(
            f"no Chromium found ({'COLORGAN_CHROMIUM=' + wanted if wanted else 'chromium is not on PATH'}); "
            "install Debian's package: apt-get install -y chromium (bash scripts/test.sh does this as root)"
        )
    return found


@contextmanager
def chromium_page(viewport: tuple[int, int] = (1100, 900), extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """A Playwright page in a fresh headless Chromium profile that accepts downloads; closed on exit.

    ``extra_args``: more Chromium switches, e.g. ``--host-resolver-rules=MAP evil.example.com 127.0.0.1`` to make a
    name resolve to this computer, as DNS rebinding does.

    Raises:
        BrowserUnavailable: Playwright is not installed, or Chromium is missing or does not start.
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        raise BrowserUnavailable(f"Playwright is not installed ({err}): pip install -e '.[dev]'") from err
    executable = chromium_path()
    profile = tempfile.mkdtemp(prefix="colorgan-chromium-")
    try:
        with sync_playwright() as playwright:
            try:
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, *extra_args],
                    accept_downloads=True,
                    viewport={"width": viewport[0], "height": viewport[1]},
                )
            except PlaywrightError as err:
                raise BrowserUnavailable(f"Chromium ({executable}) did not start: {err}") from err
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
