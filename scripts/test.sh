#!/usr/bin/env bash
# Install colorgan with its test extras into .venv, lint it (ruff), and run the whole test suite with the package's
# docstring examples (CPU; GPU tests skip themselves). On a machine without Chromium it installs Debian's (as root with
# apt-get) or says what to install (scripts/ensure_chromium.sh). Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"`.
source "$(dirname "$0")/_venv.sh"
echo ">> checking for Chromium (the page's browser test)"
bash scripts/ensure_chromium.sh
echo ">> installing colorgan[dev]"
pip install --quiet -e ".[dev]"
echo ">> ruff check"
ruff check .
export WANDB_MODE=offline
python -m pytest -q "$@"
