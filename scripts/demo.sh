#!/usr/bin/env bash
# The seisfuse demo on a fresh machine, in minutes on a laptop CPU (faster with a GPU):
#   synthesize a training survey and a held-out survey (another seed) into data/,
#   train configs/demo.yaml, fuse the held-out survey with the model and with the three
#   classical baselines, print the evaluation table and write a PNG panel.
# Extra arguments go to `seisfuse fit`, e.g. `bash scripts/demo.sh --trainer.max_epochs=2`.
set -euo pipefail
. "$(dirname "$0")/_bootstrap.sh"
export WANDB_MODE=${WANDB_MODE:-offline} MPLBACKEND=Agg PYTHONWARNINGS=ignore
mkdir -p data

echo "== 1/6 synthetic surveys (training seed 1, held-out seed 2)"
seisfuse synth data/demo_train.sgy --inlines 112 --crosslines 96 --samples 192 --faults 4 --seed 1 --force
seisfuse synth data/demo_test.sgy --inlines 48 --crosslines 96 --samples 192 --faults 4 --seed 2 --force \
  --clean data/demo_test_clean.sgy --fault-mask data/demo_test_faults.sgy

echo "== 2/6 training (configs/demo.yaml)"
RUN="runs/demo/$(date +%Y%m%d-%H%M%S)"
seisfuse fit --config configs/demo.yaml --trainer.default_root_dir="$RUN" "$@"
CKPT="$RUN/checkpoints/last.ckpt"

echo "== 3/6 fusing the held-out survey with the model"
seisfuse predict --ckpt "$CKPT" --input data/demo_test.sgy --output data/demo_test_fused.sgy --force --quiet

echo "== 4/6 classical baselines"
for m in average laplacian wavelet; do
  seisfuse baseline --method "$m" --config configs/demo.yaml --input data/demo_test.sgy \
    --output "data/demo_test_$m.sgy" --force --quiet
done

echo "== 5/6 evaluation (all volumes normalized with the input's statistics)"
seisfuse evaluate --input data/demo_test.sgy --fused data/demo_test_fused.sgy \
  --compare data/demo_test_average.sgy data/demo_test_laplacian.sgy data/demo_test_wavelet.sgy \
  --ckpt "$CKPT" --clean data/demo_test_clean.sgy --fault-mask data/demo_test_faults.sgy \
  --json data/demo_metrics.json --force

echo "== 6/6 panel"
seisfuse preview data/demo_test.sgy --ckpt "$CKPT" --section inline:124 --out data/demo_panel.png --force

python - <<'PY'
import json
res = json.load(open("data/demo_metrics.json"))["results"]
model = res.pop("demo_test_fused.sgy")
for metric in ("Qabf", "SSIM_clean"):
    best = max(res, key=lambda k: res[k][metric])
    verdict = "beats" if model[metric] > res[best][metric] else "does NOT beat"
    print(f"model {metric} {model[metric]:.4f} {verdict} the best baseline ({best} {res[best][metric]:.4f})")
PY
echo "checkpoint: $CKPT   panel: data/demo_panel.png   metrics: data/demo_metrics.json"
