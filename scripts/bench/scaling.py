"""Scaling study: held-out SSIM and PSNR against training steps, for runs of different widths, as one plot.

Reads run folders (`csv/metrics.csv`): `val/ssim_clean` and `val/psnr_clean` are scored every epoch on
held-out sections the run never trains on (the section pool's validation sections, other seeds), so the
curves show where quality still grows with steps and with width: the figures a user sizes a GPU budget by.
Prints each run's curve as a table and writes the plot.

    python scripts/bench/scaling.py runs/best/<run> runs/best_narrow/<run> --labels "best (0.37 M)" "half width" \\
        --out docs/scaling.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seisfuse.evaluation.viz import save_png
from seisfuse.training.runs import read_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run folders")
    ap.add_argument("--labels", nargs="+", default=None, help="a label per run (default: the folder names)")
    ap.add_argument("--out", default="scaling.png")
    args = ap.parse_args()
    labels = args.labels or [Path(r).name for r in args.runs]
    fig = Figure(figsize=(11, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_ssim, ax_psnr = fig.subplots(1, 2)
    for folder, label in zip(args.runs, labels, strict=True):
        run = read_run(folder)
        ssim, psnr = run.history.get("val/ssim_clean", []), run.history.get("val/psnr_clean", [])
        print(f"{label} ({folder}): step, held-out SSIM, PSNR (dB)")
        for (step, s), (_, p) in zip(ssim, psnr, strict=False):
            print(f"  {step:6d}  {s:.4f}  {p:.2f}")
        ax_ssim.plot([s for s, _ in ssim], [v for _, v in ssim], marker="o", ms=3, label=label)
        ax_psnr.plot([s for s, _ in psnr], [v for _, v in psnr], marker="o", ms=3, label=label)
    ax_ssim.set(xlabel="training step", ylabel="SSIM to clean", title="held-out sections: SSIM")
    ax_psnr.set(xlabel="training step", ylabel="PSNR to clean (dB)", title="held-out sections: PSNR")
    for ax in (ax_ssim, ax_psnr):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save_png(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
