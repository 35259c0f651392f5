#!/usr/bin/env bash
# Install colorgan with its test extras into .venv, run the checks of .pre-commit-config.yaml (file hygiene, ruff
# check, ruff format, mypy on src/), and run the whole test suite with the package's docstring examples (CPU; GPU
# tests skip themselves). On a machine without Chromium it installs Debian's (as root with
# apt-get) or says what to install (scripts/ensure_chromium.sh). Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"`.
source "$(dirname "$0")/_venv.sh"
echo ">> checking for Chromium (the page's browser test)"
bash scripts/ensure_chromium.sh
echo ">> installing colorgan[dev]"
pip install --quiet -e ".[dev]"
echo ">> pre-commit checks: file hygiene, ruff check, ruff format --check, mypy (.pre-commit-config.yaml)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # local hooks on the tools just installed: nothing is downloaded. The whitespace fixers mend what they find and
  # fail; the diff shows what they changed.
  pre-commit run --all-files --show-diff-on-failure
else
  echo "   not a git checkout, which pre-commit needs: ruff and mypy alone"
  ruff check .
  ruff format --check .
  mypy
fi
export WANDB_MODE=offline
python -m pytest -q "$@"
