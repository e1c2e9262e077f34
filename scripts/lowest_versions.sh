#!/usr/bin/env bash
# Prove the lowest declared dependency versions: install exactly the lower bound of every
# requirement in pyproject.toml (core + dev extra) into a scratch venv and run the suite. The mdio
# extra is left out: multidimio itself requires xarray>=2025.10, so its tests skip here and run
# in the normal suite.
#   bash scripts/lowest_versions.sh [pytest args]        # ~10 GB of disk for torch's CUDA wheels; ~20 min
# The pins it installs are written to .venv-lowest/lowest-constraints.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV=${LOWEST_VENV:-.venv-lowest}
"${PYTHON:-python3}" -m venv --clear "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
python - "$VENV/lowest-constraints.txt" <<'PY'
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
pins = []
for req in reqs:
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)", req)
    if not m:
        sys.exit(f"no lower bound in requirement {req!r}")
    pins.append(f"{m.group(1)}{m.group(2) or ''}=={m.group(3)}")
open(sys.argv[1], "w").write("\n".join(pins) + "\n")
print("lowest pins:", " ".join(pins))
PY
python -m pip install -q -r "$VENV/lowest-constraints.txt"
python -m pip install -q --no-deps -e .
python -m pip check
python -c "import torch, lightning, numpy; print('torch', torch.__version__, 'lightning', lightning.__version__, 'numpy', numpy.__version__)"
export WANDB_MODE=offline WANDB_SILENT=true MPLBACKEND=Agg
python -m pytest -q -p no:cacheprovider "$@"
