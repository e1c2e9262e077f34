#!/usr/bin/env bash
# The seisfuse demo on a fresh machine, in minutes on a laptop CPU:
#   1. a held-out synthetic survey (seed 2) with its clean volume and fault mask,
#   2. fused with the fast model shipped with seisfuse (--model fast, the default),
#   3. the fusion baselines and the classical denoisers (tuned parameters; BM3D with estimated noise) on the same survey,
#   4. the evaluation table against the clean volume: the input, f-x deconvolution and BM3D rows, a verdict,
#   5. the semi-real protocol on a shared real line (../shared/realdata) with added noise, fast and best models,
#   6. adaptation of the shipped model to that noisy line alone (no clean data) and the reference-free checks,
#   7. a short fine-tune of the shipped fast model (configs/demo.yaml), to show the training path,
#   8. a picture: input | model | best filter | clean, one colour scale.
# Extra arguments go to `seisfuse fit`, e.g. `bash scripts/demo.sh --trainer.max_epochs=1`.
# Everything it writes goes under data/ (run folders under data/runs/): the checkout itself stays as it was.
set -euo pipefail
. "$(dirname "$0")/_bootstrap.sh"
export WANDB_MODE=${WANDB_MODE:-offline} MPLBACKEND=Agg PYTHONWARNINGS=ignore
mkdir -p data

echo "== 1/8 held-out synthetic survey (seed 2) with its clean volume and fault mask"
seisfuse synth data/demo_test.sgy --inlines 48 --crosslines 96 --samples 192 --faults 4 --seed 2 --force \
  --clean data/demo_test_clean.sgy --fault-mask data/demo_test_faults.sgy

echo "== 2/8 fusing it with the shipped fast model"
seisfuse predict --input data/demo_test.sgy --output data/demo_test_fused.sgy --force --quiet

echo "== 3/8 fusion baselines and classical denoisers"
for m in average laplacian wavelet gaussian median bilateral fxdecon bm3d-psd; do
  seisfuse baseline --method "$m" --input data/demo_test.sgy --output "data/demo_test_$m.sgy" --force --quiet
done

echo "== 4/8 evaluation against the clean volume (all normalized with the input's statistics)"
seisfuse evaluate --input data/demo_test.sgy --fused data/demo_test_fused.sgy \
  --compare data/demo_test_average.sgy data/demo_test_laplacian.sgy data/demo_test_wavelet.sgy \
  --classical all --clean data/demo_test_clean.sgy --fault-mask data/demo_test_faults.sgy \
  --json data/demo_metrics.json --force

echo "== 5/8 semi-real protocol: a real line with added noise, the original as reference"
REAL="$(dirname "$0")/../../shared/realdata/ln472_old.sgy"
if [ -f "$REAL" ]; then
  seisfuse benchmark --input "$REAL" --noise white,band --ratio 0.5 --json data/demo_benchmark.json --force
  if python -c "import bm3d" 2>/dev/null; then  # the best model fuses BM3D's estimates: the baselines extra
    seisfuse benchmark --model best --input "$REAL" --noise white,band --ratio 0.5 --json data/demo_benchmark_best.json \
      --force
  fi
else
  echo "(../shared/realdata/ln472_old.sgy not present: skipped; run seisfuse benchmark on any real line)"
fi

echo "== 6/8 adapting the shipped model to a noisy line without its original (blind-spot training)"
if [ -f "$REAL" ]; then
  python - "$REAL" <<'PY'
import sys
from pathlib import Path
from seisfuse.evaluation.benchmark import noisy_copy
noisy_copy(sys.argv[1], Path("data/demo_line_noisy.sgy"), "white", 0.5, seed=0)
PY
  ADAPT="data/runs/adapt/demo-$(date +%Y%m%d-%H%M%S)"
  seisfuse fit --config configs/adapt.yaml --data.files=data/demo_line_noisy.sgy --trainer.default_root_dir="$ADAPT"
  seisfuse predict --model "$ADAPT/checkpoints/last.ckpt" --input data/demo_line_noisy.sgy \
    --output data/demo_line_adapted.sgy --force --quiet
  seisfuse evaluate --input data/demo_line_noisy.sgy --fused data/demo_line_adapted.sgy --classical fxdecon,bm3d-psd \
    --qc-panel data/demo_line_qc.png --json data/demo_line_qc.json --force
else
  echo "(no real line: skipped; run seisfuse fit --config configs/adapt.yaml --data.files=YOUR.sgy)"
fi

echo "== 7/8 a short fine-tune of the shipped fast model (configs/demo.yaml)"
RUN="data/runs/demo/$(date +%Y%m%d-%H%M%S)"
seisfuse fit --config configs/demo.yaml --trainer.default_root_dir="$RUN" "$@"

echo "== 8/8 picture"
seisfuse compare data/demo_test.sgy data/demo_test_fused.sgy data/demo_test_bm3d-psd.sgy data/demo_test_fxdecon.sgy \
  data/demo_test_clean.sgy --titles "input (noisy)" "seisfuse (fast)" "BM3D (estimated noise)" \
  "f-x deconvolution" "clean (truth)" --section inline:124 --out data/demo_panel.png --force
echo "fine-tuned checkpoint: $RUN/checkpoints/last.ckpt   panel: data/demo_panel.png   metrics: data/demo_metrics.json"
