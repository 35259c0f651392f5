#!/usr/bin/env bash
# The colour-hints curve at an equal training budget (README, "Colour hints"):
#   1. an automatic model (the demo recipe) trained for E1 epochs on DATA;
#   2. that run resumed for E2 more epochs (in OUT/automatic_more), still automatic: the 0-point baseline;
#   3. the model of step 1 fine-tuned with colour hints for the same E2 epochs (model.init_from);
#   4. colorgan.evaluate of 3 against 2 on DATA's test photos with 0 ... 100 points: OUT/curve/hints_curve.{json,png}.
# Both models see the same photos for the same number of steps of the same network (a hinted U-Net differs only in
# its first convolution's three extra input channels).
#   bash scripts/hints_curve.sh DATA OUT [E1 [E2 [overrides for all three trainings...]]]
#   bash scripts/hints_curve.sh /data/photoset runs/hints 12 12
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: bash scripts/hints_curve.sh DATA OUT [E1 [E2 [overrides...]]]" >&2
  exit 2
fi
data=$1 out=$2 e1=${3:-12} e2=${4:-12}
shift $(( $# < 4 ? $# : 4 ))
export WANDB_MODE="${WANDB_MODE:-offline}"
mkdir -p "$out"
train() { python -m colorgan.train +experiment=demo data.root="$data" "$@"; }

echo ">> 1. automatic, $e1 epochs"
train trainer.max_epochs="$e1" hydra.run.dir="$out/automatic" "$@"
cp "$out/automatic/checkpoints/last.ckpt" "$out/automatic_epoch$e1.ckpt"
echo ">> 2. automatic, resumed for $e2 more epochs"
train trainer.max_epochs=$((e1 + e2)) ckpt_path="$out/automatic/checkpoints/last.ckpt" \
  hydra.run.dir="$out/automatic_more" "$@"
echo ">> 3. hinted, from the automatic model at epoch $e1, $e2 epochs"
train trainer.max_epochs="$e2" model.hints.enabled=true model.init_from="$out/automatic_epoch$e1.ckpt" \
  hydra.run.dir="$out/hinted" "$@"
echo ">> 4. the curve"
python -m colorgan.evaluate ckpt_path="$out/hinted/checkpoints/last.ckpt" data.root="$data" \
  hints.baseline="$out/automatic_more/checkpoints/last.ckpt" hydra.run.dir="$out/curve"
echo ">> done: $out/curve/hints_curve.png and hints_curve.json"
