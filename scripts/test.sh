#!/usr/bin/env bash
# Install colorgan with its test extras into .venv and run the whole test suite (CPU; GPU tests skip themselves).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
source "$(dirname "$0")/_venv.sh"
echo ">> installing colorgan[dev]"
pip install --quiet -e ".[dev]"
export WANDB_MODE=offline
python -m pytest -q "$@"
