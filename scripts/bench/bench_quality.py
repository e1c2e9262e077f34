"""Quality benchmark: the README's results tables, against references, from one command.

Held-out synthetic surveys (`seisfuse.evaluation.benchmark.HELD_OUT`: white, band-limited, laterally
correlated and mixed noise at 0.2-1.0 of the signal RMS, seeds and knobs no config draws;
the clean volume and the fault mask as references), then the semi-real protocol on every
line of ../shared/realdata and on those lines resampled to 2 ms (white and 10-40 Hz band
noise at 0.3, 0.5 and 1.0 of the signal RMS; the original line as reference). Rows: the
model (the shipped one, or --ckpt), the noisy input, every installed classical denoiser
with its parameters tuned once on training data (gaussian, median, bilateral, f-x
deconvolution; BM3D and BM3D with a noise spectrum, both estimated from the data, with the
`baselines` extra), and the oracles no user has (grids searched on the scored data, BM3D
given the true noise). Each row's seconds per section are measured in the same run, so the
speed ratio to BM3D is side by side. Prints markdown tables and the misses; writes JSON.

    python scripts/bench/bench_quality.py [--ckpt CKPT] [--json quality.json] [--sections 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

from seisfuse.evaluation import benchmark
from seisfuse.inference.fusers import load_fuser

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"
COLUMNS = ("SSIM", "PSNR", "fault_contrast", "seconds")


def markdown(case: benchmark.Case) -> str:
    """One case as a markdown table, the best contender of each metric in bold (oracles never bold)."""
    cols = [c for c in COLUMNS if any(c in r for r in case.rows.values())]
    mine = case.contenders() | {case.model: case.rows[case.model]}
    best = {c: max((r[c] for r in mine.values() if math.isfinite(r.get(c, math.nan))), default=math.nan)
            for c in cols if c != "seconds"}
    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, r in case.rows.items():
        cells = []
        for c in cols:
            v = r.get(c, math.nan)
            text = "" if not math.isfinite(v) else f"{v:.3f}" if c != "PSNR" else f"{v:.2f}"
            cells.append(f"**{text}**" if c in best and name in mine and v == best[c] else text)
        lines.append(f"| {'**' + name + '**' if name == case.model else name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compact(cases: list[benchmark.Case]) -> str:
    """One markdown row per case: SSIM / PSNR of the input, the model, f-x deconvolution, BM3D (both), the best
    single OpenCV filter (tuned) and the BM3D oracle; fault contrast of input / model / BM3D / clean where known."""
    head = ["case", "input", "**seisfuse**", "fxdecon", "bm3d", "bm3d-psd", "best filter", "bm3d oracle"]
    faults = any("fault_contrast" in c.rows[c.model] for c in cases)
    if faults:
        head.append("fault contrast: input / seisfuse / bm3d-psd / clean")
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for c in cases:
        def cell(row: str | None, c: benchmark.Case = c) -> str:
            r = c.rows.get(row) if row else None
            return "" if r is None else f"{r['SSIM']:.3f} / {r['PSNR']:.2f}"
        filters = [k for k in c.rows if k.split(" ")[0] in ("gaussian", "median", "bilateral") and "tuned" in k]
        best_filter = max(filters, key=lambda k: c.rows[k]["SSIM"]) if filters else None
        mine = c.rows[c.model]
        won = all(mine[m] > r[m] for r in c.contenders().values() for m in ("SSIM", "PSNR"))
        model_cell = f"**{cell(c.model)}**" if won else cell(c.model)
        row = [f"{c.file} {c.noise} {c.ratio:g}", cell(benchmark.INPUT), model_cell, cell("fxdecon (tuned)"),
               cell("bm3d (tuned)"), cell("bm3d-psd (tuned)"),
               cell(best_filter) + (f" ({best_filter.split(' ')[0]})" if best_filter else ""),
               cell("bm3d (oracle: true noise spectrum)")]
        if faults:
            fc = [c.rows.get(k, {}).get("fault_contrast", float("nan")) for k in
                  (benchmark.INPUT, c.model, "bm3d-psd (tuned)", "clean (reference)")]
            row.append(" / ".join("" if not math.isfinite(v) else f"{v:.3f}" for v in fc))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def misses(cases: list[benchmark.Case]) -> list[str]:
    """Every case where the model does not beat a row a user could run, on SSIM or PSNR, or loses fault contrast."""
    out = []
    for c in cases:
        m = c.rows[c.model]
        for row, r in c.contenders().items():
            for metric in ("SSIM", "PSNR"):
                if not m[metric] > r[metric]:
                    out.append(f"{c.file} {c.noise} {c.ratio:g}: {metric} {m[metric]:.4f} <= {row} {r[metric]:.4f}")
        if "fault_contrast" in m:
            for row in (benchmark.INPUT, "bm3d (tuned)", "bm3d-psd (tuned)"):
                if row in c.rows and not m["fault_contrast"] >= c.rows[row]["fault_contrast"]:
                    out.append(f"{c.file}: fault contrast {m['fault_contrast']:.3f} < {row} "
                               f"{c.rows[row]['fault_contrast']:.3f}")
    return out


def speed(cases: list[benchmark.Case]) -> str:
    """Mean seconds per section of the model and of BM3D, and their ratio, over the same sections."""
    model = np.mean([c.rows[c.model]["seconds"] for c in cases])
    bm3d = [c.rows[k]["seconds"] for c in cases for k in ("bm3d (tuned)", "bm3d-psd (tuned)") if k in c.rows]
    if not bm3d:
        return f"model {model:.3f} s/section (BM3D not installed: pip install 'seisfuse[baselines]')"
    return f"model {model:.3f} s/section, BM3D {np.mean(bm3d):.3f} s/section: the model is {np.mean(bm3d) / model:.1f}x faster"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=None, help="model (default: the shipped pretrained model)")
    ap.add_argument("--sections", type=int, default=8, help="inlines scored per held-out survey")
    ap.add_argument("--ratios", default="0.3,0.5,1.0", help="semi-real noise ratios")
    ap.add_argument("--quick", action="store_true", help="two surveys, one ratio, no 2 ms lines, no oracles")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    fuser = load_fuser(args.ckpt)
    oracle = () if args.quick else benchmark.ORACLE_GRIDS
    surveys = dict(list(benchmark.HELD_OUT.items())[:2]) if args.quick else benchmark.HELD_OUT
    ratios = (0.5,) if args.quick else tuple(float(r) for r in args.ratios.split(","))
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        cases = benchmark.held_out(fuser, tmp, surveys, sections=args.sections, oracle=oracle, true_noise=not args.quick)
        real = sorted(REALDATA.glob("*.sgy")) if REALDATA.is_dir() else []
        lines = [str(p) for p in real]
        if real and not args.quick:
            lines += [str(benchmark.resampled_copy(p, Path(tmp) / f"{p.stem}_2ms.sgy", 2.0)) for p in real]
        if lines:
            cases += benchmark.semi_real(fuser, lines, Path(tmp) / "real", kinds=("white", "band"), ratios=ratios,
                                         oracle=oracle, true_noise=not args.quick)
        else:
            print("(../shared/realdata not present: no semi-real cases)")
    print(f"model: {fuser.name}\n")
    for c in cases:
        print(f"### {c.file}: {c.noise} noise at {c.ratio:g} x signal RMS ({c.sections} sections)\n")
        print(markdown(c) + "\n")
        sys.stdout.flush()
    summary = benchmark.summary(cases)
    missed = misses(cases)
    print("### compact (README)\n")
    synthetic = [c for c in cases if c.file in benchmark.HELD_OUT]
    print(compact(synthetic) + "\n")
    if len(synthetic) < len(cases):
        print(compact([c for c in cases if c.file not in benchmark.HELD_OUT]) + "\n")
    print("### summary\n")
    print(json.dumps(summary, indent=1))
    print(f"\nspeed: {speed(cases)}")
    print(f"\n{len(missed)} misses" + (":" if missed else ""))
    for line in missed:
        print(f"  {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": fuser.name, **benchmark.as_dict(cases), "summary": summary,
                                               "misses": missed, "speed": speed(cases)}, indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
