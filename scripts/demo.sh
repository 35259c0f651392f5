#!/usr/bin/env bash
# Install colorgan into .venv and train the demo: a small model on the photos shipped with the package
# (about two minutes of training on an idle 2-core CPU: 40 epochs). Extra arguments go to the trainer, e.g. `bash scripts/demo.sh trainer.max_epochs=5`.
source "$(dirname "$0")/_venv.sh"
echo ">> installing colorgan (the first time also torch and friends: a few minutes)"
pip install --quiet .
export WANDB_MODE="${WANDB_MODE:-offline}"
python -m colorgan.train +experiment=demo "$@"
run="$(ls -td logs/demo/runs/*/ | head -n 1)"
echo
echo ">> done. Sample grid (rows: gray | colorized | truth): ${run}samples/latest.png"
echo "   checkpoints: ${run}checkpoints/   metrics and config: ${run}"
