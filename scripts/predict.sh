#!/usr/bin/env bash
# Fuse SEG-Y files on a SLURM cluster, or on this machine.
#
#   sbatch scripts/predict.sh --input '/data/lines/*.sgy' --output-dir /scratch/fused [--ckpt CKPT] [...]
#   sbatch --nodes=4 --ntasks-per-node=4 --gres=gpu:4 scripts/predict.sh --input big.sgy --output big_fused.sgy
#   bash   scripts/predict.sh --input a.sgy b.sgy --output-dir fused/
#
# Extra arguments go to `seisfuse predict` (without --model: the shipped fast model).
# Under SLURM every task is one rank (srun), across nodes: with at least as many files as
# ranks, the files are split across ranks; otherwise the sections of each file are, every
# rank writing its own traces into the output that rank 0 created on the shared
# filesystem and renames (fsync'ed) when all are done. --skip-existing is always on, so a
# requeued job (--requeue, or after a node failure) skips the files already complete.
#
#SBATCH --job-name=seisfuse-predict
#SBATCH --nodes=1
#SBATCH --gres=gpu:4
#SBATCH --ntasks-per-node=4          # = GPUs per node: one rank per GPU
#SBATCH --cpus-per-task=6            # DataLoader workers (--num-workers) + 2
#SBATCH --mem=0
#SBATCH --time=12:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=seisfuse-predict-%j.out
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: sbatch scripts/predict.sh --input IN.sgy [IN2.sgy ...] (--output OUT.sgy | --output-dir DIR) [...]" >&2
  exit 2
fi

ROOT=${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$ROOT"
# the job environment: scripts/_activate.sh beside this script, or (sbatch runs a spooled copy) in the submit folder
for d in "$(dirname "${BASH_SOURCE[0]}")" "$ROOT/scripts"; do [ -f "$d/_activate.sh" ] && . "$d/_activate.sh" && break; done
command -v seisfuse >/dev/null || { echo "seisfuse: error: not installed here; set SEISFUSE_VENV or submit from the project root" >&2; exit 2; }

if [ -n "${SLURM_JOB_ID:-}" ] && [ -n "${SLURM_NTASKS:-}" ]; then
  NODES=${SLURM_NNODES:-1}
  PER_NODE=$(( SLURM_NTASKS / NODES ))
  DEVICE=cpu
  if [ -n "${SLURM_GPUS_ON_NODE:-}${CUDA_VISIBLE_DEVICES:-}" ]; then DEVICE=cuda; fi
  echo "seisfuse: SLURM job $SLURM_JOB_ID: $NODES node(s) x $PER_NODE rank(s), restart ${SLURM_RESTART_COUNT:-0}" >&2
  srun --kill-on-bad-exit=1 seisfuse predict --slurm --num-nodes "$NODES" --devices "$PER_NODE" \
    --device "${SEISFUSE_DEVICE:-$DEVICE}" --skip-existing --quiet "$@"
else
  seisfuse predict --skip-existing "$@"
fi
