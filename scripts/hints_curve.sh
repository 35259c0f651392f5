#!/usr/bin/env bash
# The colour-hints curve at an equal training budget (README, "Colour hints"):
#   1. an automatic model (the demo recipe: Pix2Pix, GAN + L1) trained for E1 epochs on DATA      -> OUT/automatic
#   2. that model fine-tuned for E2 epochs without hints: the 0-point baseline                     -> OUT/automatic_more
#   3. that model fine-tuned for the same E2 epochs, the same way, with colour hints (the paper's
#      simulated points; model.init_from widens its first conv with zeros)                         -> OUT/hinted
#   4. colorgan.evaluate of 3 against 2 on DATA's test photos with 0 ... 100 points      -> OUT/curve/hints_curve.*
# Both fine-tunes see the same photos for the same number of steps of the same network (a hinted U-Net differs only
# in its first convolution's three extra input channels), with the same settings: FINETUNE (default: the generator
# alone on L1 at a learning rate of 1e-3, the regression the paper trains with; see the README for the others tried).
#   bash scripts/hints_curve.sh DATA OUT [E1 [E2 [overrides for all three trainings...]]]
#   bash scripts/hints_curve.sh /data/photoset runs/hints 12 12
#   FINETUNE="model.optimizer_g.lr=2e-4" bash scripts/hints_curve.sh /data/photoset runs/hints_gan 12 12
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: bash scripts/hints_curve.sh DATA OUT [E1 [E2 [overrides...]]]" >&2
  exit 2
fi
data=$1 out=$2 e1=${3:-12} e2=${4:-12}
shift $(( $# < 4 ? $# : 4 ))
read -r -a finetune <<< "${FINETUNE-model.l1_warmup_epochs=1000000 model.optimizer_g.lr=1e-3}"
export WANDB_MODE="${WANDB_MODE:-offline}"
mkdir -p "$out"
train() { python -m colorgan.train +experiment=demo data.root="$data" "$@"; }

echo ">> 1. automatic, $e1 epochs"
train trainer.max_epochs="$e1" hydra.run.dir="$out/automatic" "$@"
start="$out/automatic/checkpoints/last.ckpt"
echo ">> 2. automatic, $e2 more epochs: ${finetune[*]}"
train trainer.max_epochs="$e2" model.init_from="$start" "${finetune[@]}" hydra.run.dir="$out/automatic_more" "$@"
echo ">> 3. hinted, $e2 more epochs: ${finetune[*]}"
train trainer.max_epochs="$e2" model.init_from="$start" "${finetune[@]}" model.hints.enabled=true \
  hydra.run.dir="$out/hinted" "$@"
echo ">> 4. the curve"
python -m colorgan.evaluate ckpt_path="$out/hinted/checkpoints/last.ckpt" data.root="$data" \
  hints.baseline="$out/automatic_more/checkpoints/last.ckpt" hydra.run.dir="$out/curve"
echo ">> done: $out/curve/hints_curve.png and hints_curve.json"
