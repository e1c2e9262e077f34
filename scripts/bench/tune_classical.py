"""Tune the classical denoisers on synthetic training data, by SSIM to the clean section.

Each registered denoiser (`seisfuse.denoisers`) is scored over its own small grid on sections
drawn from the training distribution (`seisfuse.synth.survey.SynthRanges`, training seed 0,
192 x 192), never on a held-out survey or a real line. The best setting of each is what
`seisfuse baseline --method NAME` and every benchmark row use by default (the `tuned` values
of the registry); rerun this after changing the ranges.

    python scripts/bench/tune_classical.py [--sections 64] [--seed 0] [--only gaussian,fxdecon]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from seisfuse import denoisers
from seisfuse.branches import BranchSettings
from seisfuse.data.synthetic import SyntheticData, SyntheticPatches
from seisfuse.evaluation.metrics import ssim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="comma-separated denoiser names (default: every installed one)")
    args = ap.parse_args()
    ds = SyntheticPatches(BranchSettings(edges=[]), SyntheticData(), 192, args.sections, args.seed)
    items = [ds[(0, i)] for i in range(args.sections)]
    pairs = [(it["raw"][0].numpy(), it["clean"][0].numpy()) for it in items]
    print(f"{args.sections} training sections 192 x 192; raw input SSIM to clean "
          f"{np.mean([ssim(r, c) for r, c in pairs]):.4f}")
    names = args.only.split(",") if args.only else [n for n, i in denoisers.DENOISERS.items() if i.available()]
    best = {}
    for name in names:
        info = denoisers.get(name)
        scored = []
        for params in info.grid:
            f = denoisers.create_denoiser(name, **params)
            scored.append((float(np.mean([ssim(f(r), c) for r, c in pairs])), dict(params)))
        scored.sort(key=lambda t: -t[0])
        best[name] = scored[0][1]
        print(f"{name:10s} best {scored[0][0]:.4f} {scored[0][1]}   (worst {scored[-1][0]:.4f} {scored[-1][1]})",
              flush=True)
    print("tuned =", json.dumps(best))


if __name__ == "__main__":
    main()
