#!/usr/bin/env bash
# Build the documentation site (docs/, Sphinx + MyST + Furo) into build/docs/, strictly: a warning, a broken link
# or anchor, or a page missing from the navigation fails the build. The reference pages (CLI options, config keys,
# Python API, code map) are generated from the code as the build starts.
#   bash scripts/docs.sh            build (needs the docs extra: pip install -e ".[docs]")
#   bash scripts/docs.sh --serve    build, then serve it on http://127.0.0.1:${PORT:-8000} (Ctrl-C stops it)
# OUT=folder puts the site elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-build/docs}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export WANDB_MODE="${WANDB_MODE:-disabled}"
if ! python -c "import sphinx, myst_parser, furo" 2>/dev/null; then
  echo "docs.sh: Sphinx, MyST-Parser or Furo is missing: pip install -e '.[docs]'" >&2
  exit 2
fi
python -m sphinx -b html -W --keep-going -n -q -j auto docs "$out"
echo ">> the site is in $out/index.html"
if [ "${1:-}" = "--serve" ]; then
  echo ">> serving it on http://127.0.0.1:${PORT:-8000} (Ctrl-C stops it)"
  exec python -m http.server --bind 127.0.0.1 --directory "$out" "${PORT:-8000}"
fi
