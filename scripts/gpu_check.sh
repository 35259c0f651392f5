#!/usr/bin/env bash
# Check colorgan's CUDA path in one call within a time budget (scripts/gpu_check.py says what it does); --cpu-smoke
# runs the same steps on the CPU with tiny sizes. Output under $OUT when set, else logs/gpu_check/<time>/.
#
#   bash scripts/gpu_check.sh [--budget SECONDS] [--cpu-smoke]
#       makes (once) .venv and installs colorgan[dev] into it from PyPI, then runs the check;
#   bash scripts/gpu_check.sh --offline [DIR] [--budget SECONDS] [--cpu-smoke]
#       for a machine that reaches no package index: uses its own python3 (or $PYTHON) and the PyTorch in it, no
#       venv; installs the wheels in DIR (default: gpu_wheels/ in the checkout, fetched elsewhere by
#       scripts/gpu_wheels.sh) with --no-index --no-deps into a temporary folder on PYTHONPATH, then runs the check.
set -euo pipefail
# the check's --budget counts from here: installing counts too
export COLORGAN_CHECK_START="${COLORGAN_CHECK_START:-$(date +%s)}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

offline=0
wheels=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --offline)
      offline=1
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then wheels="$2"; shift; fi ;;
    --offline=*) offline=1; wheels="${1#--offline=}" ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ "$offline" = 0 ]; then
  source "$ROOT/scripts/_venv.sh"
  if ! python -c "import colorgan" >/dev/null 2>&1; then
    echo ">> installing colorgan[dev]"
    pip install --quiet -e ".[dev]"
  fi
  exec python "$ROOT/scripts/gpu_check.py" "${args[@]+"${args[@]}"}"
fi

PYTHON="${PYTHON:-python3}"
wheels="${wheels:-$ROOT/gpu_wheels}"
if ! compgen -G "$wheels/*.whl" >/dev/null; then
  echo "!! no wheels in $wheels: fetch them where pip works with \`bash scripts/gpu_wheels.sh $wheels\` and copy" \
       "the folder here (next to the checkout: gpu_wheels/)" >&2
  exit 2
fi
site="$(mktemp -d "${TMPDIR:-/tmp}/colorgan_wheels_XXXXXX")"
trap 'rm -rf "$site"' EXIT
echo ">> $("$PYTHON" --version) at $(command -v "$PYTHON"); installing $(ls "$wheels"/*.whl | wc -l) wheels from" \
     "$wheels into $site (no index, no dependencies)"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --no-compile --no-cache-dir \
  --target "$site" "$wheels"/*.whl
export PYTHONPATH="$site:$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
# wandb's own service and the data loader's workers start Python processes: they find the wheels through PYTHONPATH
"$PYTHON" "$ROOT/scripts/gpu_check.py" "${args[@]+"${args[@]}"}"
