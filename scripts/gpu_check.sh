#!/usr/bin/env bash
# Check colorgan's CUDA path in one call (scripts/gpu_check.py says what it does); --cpu-smoke runs the same steps
# on the CPU with tiny sizes. Output under $OUT when set, else logs/gpu_check/<time>/.
source "$(dirname "$0")/_venv.sh"
if ! python -c "import colorgan" >/dev/null 2>&1; then
  echo ">> installing colorgan[dev]"
  pip install --quiet -e ".[dev]"
fi
python scripts/gpu_check.py "$@"
