"""Tune the classical filters (gaussian, median, bilateral) on synthetic training data, by SSIM to the clean section.

The grid below is small and documented; the sections come from the training distribution
(seisfuse.synth.SynthRanges, training seed 0, 192 x 192), never from a held-out survey. The
best parameters of each filter are what `seisfuse baseline --method gaussian|median|bilateral`
uses by default (seisfuse.models.baselines.TUNED); rerun this after changing the ranges.

    python scripts/bench/tune_classical.py [--sections 64] [--seed 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from seisfuse.models.baselines import FILTERS, GRID

from seisfuse.branches import BranchSettings
from seisfuse.data.synthetic import SyntheticData, SyntheticPatches
from seisfuse.metrics import ssim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ds = SyntheticPatches(BranchSettings(edges=[]), SyntheticData(), 192, args.sections, args.seed)
    items = [ds[(0, i)] for i in range(args.sections)]
    pairs = [(it["raw"][0].numpy(), it["clean"][0].numpy()) for it in items]
    raw_score = float(np.mean([ssim(r, c) for r, c in pairs]))
    print(f"{args.sections} training sections 192 x 192; raw input SSIM to clean {raw_score:.4f}")
    best = {}
    for name, grid in GRID.items():
        scored = [(float(np.mean([ssim(FILTERS[name](r, None, **p), c) for r, c in pairs])), p) for p in grid]
        scored.sort(key=lambda t: -t[0])
        best[name] = scored[0][1]
        print(f"{name:10s} best {scored[0][0]:.4f} {scored[0][1]}   (worst {scored[-1][0]:.4f} {scored[-1][1]})")
    print("TUNED =", json.dumps(best))


if __name__ == "__main__":
    main()
