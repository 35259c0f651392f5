#!/usr/bin/env bash
# Make sure the page's browser test has a Chromium to drive (Debian's package; Playwright downloads no browser here).
# Run by scripts/test.sh. Found already (on PATH as chromium or chromium-browser, or named by COLORGAN_CHROMIUM):
# nothing to do. Otherwise, as root (or with password-less sudo) on a machine with apt-get: install Debian's
# chromium. Otherwise: say what to install, and exit 1.
set -euo pipefail
if [ -n "${COLORGAN_CHROMIUM:-}" ]; then
  if [ -x "$COLORGAN_CHROMIUM" ]; then exit 0; fi
  echo "error: COLORGAN_CHROMIUM=$COLORGAN_CHROMIUM is not an executable file; point it at a Chromium binary" >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n)
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
  echo ">> installing Debian's chromium for the page's browser test (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q chromium
  if command -v chromium >/dev/null 2>&1; then exit 0; fi
  echo "error: apt-get installed chromium, but no chromium is on PATH" >&2
  exit 1
fi
{
  echo "error: the test suite drives a headless Chromium (the page's browser test) and none was found."
  echo "  Install it, then run this command again:"
  echo "    Debian/Ubuntu:  sudo apt-get install chromium      (Ubuntu: chromium-browser)"
  echo "    elsewhere:      any Chromium or Chrome, then  export COLORGAN_CHROMIUM=/path/to/chromium"
} >&2
exit 1
