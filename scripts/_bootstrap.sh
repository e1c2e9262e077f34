# Sourced by scripts/*.sh: create .venv if missing, install seisfuse into it, activate it.
# Override the interpreter with PYTHON=..., the torch build with SEISFUSE_TORCH="torch==X torchvision==Y".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
  echo "seisfuse: creating .venv" >&2
  "${PYTHON:-python3}" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "seisfuse: installing torch + torchvision (first run only)" >&2
  # shellcheck disable=SC2086
  python -m pip install -q ${SEISFUSE_TORCH:-torch==2.14.1 torchvision==0.29.1} \
    || python -m pip install -q "torch>=2.3" "torchvision>=0.18"
fi
if [ ! -f .venv/.seisfuse-installed ] || [ pyproject.toml -nt .venv/.seisfuse-installed ]; then
  echo "seisfuse: installing the project into .venv" >&2
  python -m pip install -q -e ".[dev,mdio,baselines]"
  touch .venv/.seisfuse-installed
fi
