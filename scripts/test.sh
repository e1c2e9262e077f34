#!/usr/bin/env bash
# Run the test suite in the project's own virtual environment (created on first use).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k segy -x`.
set -euo pipefail
. "$(dirname "$0")/_bootstrap.sh"
export WANDB_MODE=offline WANDB_SILENT=true MPLBACKEND=Agg
python -m pytest -q "$@"
