#!/usr/bin/env bash
# The demo on a fresh machine: bootstrap .venv, synthesize a survey, describe it.
set -euo pipefail
. "$(dirname "$0")/_bootstrap.sh"
export WANDB_MODE=${WANDB_MODE:-offline} MPLBACKEND=Agg
mkdir -p data
seisfuse synth data/demo_train.sgy --inlines 96 --crosslines 96 --samples 256 --faults 4 --seed 1 \
  --clean data/demo_train_clean.sgy --fault-mask data/demo_train_faults.sgy --force
seisfuse info data/demo_train.sgy --no-text-header
