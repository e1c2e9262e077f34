#!/usr/bin/env bash
# Train seisfuse on a SLURM GPU cluster or on this machine.
#
#   sbatch scripts/train.sh configs/default.yaml [--section.key=value ...]
#   sbatch --nodes=2 --gres=gpu:8 --ntasks-per-node=8 scripts/train.sh configs/default.yaml
#   bash   scripts/train.sh configs/demo.yaml --trainer.max_epochs=2
#
# Extra --config files stack:  sbatch scripts/train.sh configs/default.yaml --config configs/experiment/no_dcn.yaml
# Under SLURM every task runs through srun, so Lightning's SLURM environment sets up DDP across
# GPUs and nodes; --signal=SIGUSR1@90 lets Lightning save an HPC checkpoint and requeue the job
# before the time limit, and the requeued job (same SLURM_JOB_ID, same run folder
# runs/<experiment>/<job id>, same W&B run id) resumes from it.
#
#SBATCH --job-name=seisfuse
#SBATCH --nodes=1
#SBATCH --gres=gpu:4
#SBATCH --ntasks-per-node=4          # = GPUs per node: one process per GPU
#SBATCH --cpus-per-task=10           # DataLoader workers (data.num_workers) + 2
#SBATCH --mem=0
#SBATCH --time=24:00:00
#SBATCH --signal=SIGUSR1@90
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=seisfuse-%j.out
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: sbatch scripts/train.sh CONFIG.yaml [--section.key=value ...]" >&2
  echo "       bash scripts/train.sh CONFIG.yaml [...]" >&2
  [ $# -ge 1 ] && echo "seisfuse: error: $1: config file not found" >&2
  exit 2
fi
CONFIG=$1
shift

# sbatch runs a copy of this script from a spool folder: work from where the job was submitted (runs/ goes there;
# outside SLURM, in the current folder, as `seisfuse fit` itself does)
ROOT=${SLURM_SUBMIT_DIR:-$PWD}
cd "$ROOT"
# the job environment: scripts/_activate.sh beside this script, or (sbatch runs a spooled copy) in the submit folder
for d in "$(dirname "${BASH_SOURCE[0]}")" "$ROOT/scripts"; do [ -f "$d/_activate.sh" ] && . "$d/_activate.sh" && break; done
command -v seisfuse >/dev/null || { echo "seisfuse: error: not installed here; set SEISFUSE_VENV or submit from the project root" >&2; exit 2; }

# W&B: offline on nodes without internet (sync later from a login node)
if [ -z "${WANDB_MODE:-}" ]; then
  if ! python - <<'PY' 2>/dev/null
import socket
socket.create_connection(("api.wandb.ai", 443), timeout=3).close()
PY
  then
    export WANDB_MODE=offline
    echo "seisfuse: no route to api.wandb.ai; W&B runs offline" >&2
  fi
fi

# the script's exit status is seisfuse fit's own (0 done; 1 bad input; 2 config mistake; 143 SIGTERM, checkpoint saved)
status=0
started=$(mktemp)  # W&B offline runs newer than this are this fit's own, never an older run's
trap 'rm -f "$started"' EXIT
if [ -n "${SLURM_JOB_ID:-}" ] && [ -n "${SLURM_NTASKS:-}" ]; then
  echo "seisfuse: SLURM job $SLURM_JOB_ID: ${SLURM_NNODES:-1} node(s) x ${SLURM_NTASKS_PER_NODE:-1} task(s), restart ${SLURM_RESTART_COUNT:-0}" >&2
  srun --kill-on-bad-exit=1 seisfuse fit --config "$CONFIG" --trainer.num_nodes="${SLURM_NNODES:-1}" "$@" || status=$?
else
  seisfuse fit --config "$CONFIG" "$@" || status=$?
fi

if [ "${WANDB_MODE:-}" = "offline" ] && [ -d runs ]; then
  find runs -mindepth 4 -maxdepth 4 -type d -path '*/wandb/offline-run-*' -newer "$started" 2>/dev/null | sort |
    while read -r run; do echo "seisfuse: W&B run kept offline; upload it with:  wandb sync $run" >&2; done
fi
exit "$status"
