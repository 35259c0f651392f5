#!/usr/bin/env bash
# DDP with torchrun: torchrun starts one process per GPU (Lightning detects it and starts none itself).
#
# One machine, all its GPUs:
#   bash scripts/torchrun.sh +experiment=sports data.root=/data/sports
# Two machines with 8 GPUs each: run on both, with the same RUN_ID and the address of the first machine
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=gpu-a RUN_ID=sports-2x8 bash scripts/torchrun.sh +experiment=sports data.root=/data/sports
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=gpu-a RUN_ID=sports-2x8 bash scripts/torchrun.sh +experiment=sports data.root=/data/sports
# Resume it: add ckpt_path=last (same RUN_ID). Try it on CPU: NPROC_PER_NODE=2 bash scripts/torchrun.sh
#   +experiment=demo trainer.accelerator=cpu trainer.sync_batchnorm=false
#
# Every rank of every node writes into one folder, logs/<experiment>/runs/<RUN_ID> (on a shared file system for
# several machines): unlike Lightning's own launcher, torchrun's processes cannot agree on a start time, so RUN_ID
# names it. Each rank logs to train_rank<R>.log there; only rank 0 writes checkpoints, sample grids and W&B.
# Effective batch = data.batch_size x NPROC_PER_NODE x NNODES; for the learning rate see the docs section
# docs/scale/multi-gpu.md#effective-batch-size-and-learning-rate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# How many processes: NPROC_PER_NODE, else one per GPU that nvidia-smi lists. Without nvidia-smi (no NVIDIA driver,
# a CPU machine) or with no GPU listed, say so and stop: the shell would otherwise end with its bare 127.
if [ -z "${NPROC_PER_NODE:-}" ]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "scripts/torchrun.sh: nvidia-smi is not installed, so the GPUs cannot be counted; set NPROC_PER_NODE=N" \
      "(the number of GPUs to use), or try it on the CPU: NPROC_PER_NODE=2 bash scripts/torchrun.sh" \
      "trainer.accelerator=cpu trainer.sync_batchnorm=false ..." >&2
    exit 2
  fi
  NPROC_PER_NODE="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
fi
if ! [ "${NPROC_PER_NODE}" -ge 1 ] 2>/dev/null; then
  echo "scripts/torchrun.sh: no GPU found (nvidia-smi -L lists none) and NPROC_PER_NODE is '${NPROC_PER_NODE}';" \
    "set NPROC_PER_NODE=N (with trainer.accelerator=cpu trainer.sync_batchnorm=false for the CPU)" >&2
  exit 2
fi
if ! command -v torchrun >/dev/null 2>&1; then
  echo "scripts/torchrun.sh: torchrun is not on PATH; activate the environment colorgan is installed in" >&2
  exit 2
fi
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
MASTER_PORT="${MASTER_PORT:-29500}"
RUN_ID="${RUN_ID:-$(date +%Y-%m-%d_%H-%M-%S)}"

exec torchrun \
  --nnodes "${NNODES}" --nproc-per-node "${NPROC_PER_NODE}" --node-rank "${NODE_RANK}" \
  --master-addr "${MASTER_ADDR}" --master-port "${MASTER_PORT}" \
  -m colorgan.train \
  trainer=ddp trainer.devices="${NPROC_PER_NODE}" trainer.num_nodes="${NNODES}" \
  'paths.output_dir=${paths.log_dir}/${experiment_name}/runs/'"${RUN_ID}" \
  'hydra.job.name=train_rank${oc.env:RANK,0}' \
  "$@"
