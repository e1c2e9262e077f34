#!/usr/bin/env bash
# Run every configs/experiment/*.yaml on top of a base config, then compare them with `seisfuse runs`.
#
#   sbatch --array=0-12 scripts/ablations.sh configs/fast.yaml          # a SLURM job array: one task each
#   bash scripts/ablations.sh configs/fast.yaml --trainer.max_epochs=3  # here, one after another
#   seisfuse runs runs/ --png ablations.png                                   # the table: what differs, val/score
#
# Each experiment file names its experiment (runs/<experiment>/<job id or time>); extra arguments go to every
# `seisfuse fit`. EXPERIMENTS="no_dcn no_cbam" restricts the list. The W&B alternative is a sweep with a grid
# over the experiment files: `wandb sweep configs/sweep_ablations.yaml` (needs a W&B login).
#
#SBATCH --job-name=seisfuse-ablation
#SBATCH --nodes=1
#SBATCH --gres=gpu:1
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=10
#SBATCH --time=24:00:00
#SBATCH --output=seisfuse-ablation-%A_%a.out
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: bash scripts/ablations.sh BASE.yaml [--section.key=value ...]" >&2
  exit 2
fi
BASE=$1
shift
ROOT=${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$ROOT"
if [ -n "${EXPERIMENTS:-}" ]; then
  files=(); for e in $EXPERIMENTS; do files+=("configs/experiment/$e.yaml"); done
else
  files=(configs/experiment/*.yaml)
fi
if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then  # one experiment per array task
  exec bash scripts/train.sh "$BASE" --config "${files[$SLURM_ARRAY_TASK_ID]}" "$@"
fi
status=0
for f in "${files[@]}"; do
  echo "== $(basename "$f" .yaml)" >&2
  bash scripts/train.sh "$BASE" --config "$f" "$@" || status=$?
done
echo "compare them: seisfuse runs runs/ --png ablations.png" >&2
exit "$status"
