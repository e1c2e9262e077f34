# Sourced by train.sh and predict.sh from the project root: the seisfuse environment of a job.
# $SEISFUSE_VENV if set, else a seisfuse already on PATH, else the project's .venv (created on first use).
if [ -n "${SEISFUSE_VENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$SEISFUSE_VENV/bin/activate"
elif ! command -v seisfuse >/dev/null 2>&1; then
  . "$(dirname "${BASH_SOURCE[0]}")/_bootstrap.sh"
fi
export PYTHONUNBUFFERED=1
