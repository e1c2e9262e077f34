"""Quality benchmark: the README's results tables, against references, from one command, for every model given.

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

    python scripts/bench/bench_quality.py [--models best,fast] [--json quality.json] [--sections 8] [--quick] [--no-oracles]

With several models, the first is each case's model (its verdict); the others are rows beside it, and their
misses are listed too. Every row's seconds per section is measured in the same run.
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
from seisfuse.inference.weights import shipped_path

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"
COLUMNS = ("SSIM", "PSNR", "fault_contrast", "seconds")


def markdown(case: benchmark.Case) -> str:
    """One case as a markdown table, the best contender of each metric in bold (oracles never bold)."""
    cols = [c for c in COLUMNS if any(c in r for r in case.rows.values())]
    mine = {k: r for k, r in case.rows.items() if not benchmark.is_oracle(k)}
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


def wins(c: benchmark.Case, row: str) -> bool:
    """True when a model's row beats every other row a user could run (the oracles aside) on SSIM and PSNR."""
    mine = c.rows[row]
    others = {k: r for k, r in c.rows.items() if k != row and not benchmark.is_oracle(k)}
    return all(mine[m] > r[m] for r in others.values() for m in ("SSIM", "PSNR"))


def compact(cases: list[benchmark.Case], models: list[str]) -> str:
    """One markdown row per case: SSIM / PSNR of the input, each model, f-x deconvolution, the BM3D family, the best
    single OpenCV filter (tuned) and the BM3D oracle; fault contrast of input / models / BM3D / clean where known."""
    head = ["case", "input", *[f"**{m.removeprefix('model (').removesuffix(')')}**" for m in models], "fxdecon", "bm3d",
            "bm3d-psd", "bm3d-so", "best filter", "bm3d oracle"]
    faults = any("fault_contrast" in c.rows[c.model] for c in cases)
    if faults:
        head.append(f"fault contrast: input / {' / '.join(h.strip('*') for h in head[2:2 + len(models)])} / bm3d-psd / "
                    "clean")
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for c in cases:
        def cell(row: str | None, c: benchmark.Case = c) -> str:
            r = c.rows.get(row) if row else None
            return "" if r is None else f"{r['SSIM']:.3f} / {r['PSNR']:.2f}"
        filters = [k for k in c.rows if k.split(" ")[0] in ("gaussian", "median", "bilateral") and "tuned" in k]
        best_filter = max(filters, key=lambda k: c.rows[k]["SSIM"]) if filters else None
        model_cells = [f"**{cell(m)}**" if wins(c, m) else cell(m) for m in models]
        name = c.file if c.file in benchmark.HELD_OUT else f"{c.file} {c.noise} {c.ratio:g}"
        row = [name, cell(benchmark.INPUT), *model_cells, cell("fxdecon (tuned)"),
               cell("bm3d (tuned)"), cell("bm3d-psd (tuned)"), cell("bm3d-so (tuned)"),
               cell(best_filter) + (f" ({best_filter.split(' ')[0]})" if best_filter else ""),
               cell("bm3d (oracle: true noise spectrum)")]
        if faults:
            fc = [c.rows.get(k, {}).get("fault_contrast", float("nan")) for k in
                  (benchmark.INPUT, *models, "bm3d-psd (tuned)", "clean (reference)")]
            row.append(" / ".join("" if not math.isfinite(v) else f"{v:.3f}" for v in fc))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def misses(cases: list[benchmark.Case], model: str, against: tuple[str, ...] = ()) -> list[str]:
    """Every case where a model does not beat a row a user could run (the other models too, unless `against` names
    the rows), on SSIM or PSNR, or has less fault contrast than the input or BM3D."""
    out = []
    for c in cases:
        m = c.rows[model]
        rivals = {k: r for k, r in c.rows.items() if k != model and not benchmark.is_oracle(k)
                  and (not against or k in against)}
        for row, r in rivals.items():
            for metric in ("SSIM", "PSNR"):
                if not m[metric] > r[metric]:
                    out.append(f"{c.file} {c.noise} {c.ratio:g}: {metric} {m[metric]:.4f} <= {row} {r[metric]:.4f}")
        if "fault_contrast" in m:
            for row in (benchmark.INPUT, "bm3d (tuned)", "bm3d-psd (tuned)"):
                if row in c.rows and not m["fault_contrast"] >= c.rows[row]["fault_contrast"]:
                    out.append(f"{c.file}: fault contrast {m['fault_contrast']:.3f} < {row} "
                               f"{c.rows[row]['fault_contrast']:.3f}")
    return out


def speed(cases: list[benchmark.Case], models: list[str]) -> str:
    """Mean seconds per section of each model and of each BM3D row, and their ratios, over the same sections."""
    def mean(row: str) -> float:
        return float(np.mean([c.rows[row]["seconds"] for c in cases if row in c.rows]))

    bm3d = {k: mean(k) for k in ("bm3d (tuned)", "bm3d-psd (tuned)", "bm3d-so (tuned)") if any(k in c.rows for c in cases)}
    parts = [f"{m.removeprefix('model (').removesuffix(')')} {mean(m):.3f} s/section"
             + (f" ({mean('bm3d (tuned)') / mean(m):.1f}x faster than bm3d)" if "bm3d (tuned)" in bm3d else "")
             for m in models]
    parts += [f"{k.split(' ')[0]} {v:.3f} s/section" for k, v in bm3d.items()]
    return "; ".join(parts) + ("" if bm3d else " (BM3D not installed: pip install 'seisfuse[baselines]')")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=None,
                    help="models, comma-separated: shipped names (fast, best) or files; the first is each case's model "
                         "(default: best,fast, or fast where best is not shipped)")
    ap.add_argument("--sections", type=int, default=8, help="inlines scored per held-out survey")
    ap.add_argument("--ratios", default="0.3,0.5,1.0", help="semi-real noise ratios")
    ap.add_argument("--quick", action="store_true", help="two surveys, one ratio, no 2 ms lines, no oracles")
    ap.add_argument("--no-oracles", action="store_true", help="leave out the oracle rows (their grid searches dominate "
                                                                   "the run time)")
    ap.add_argument("--no-2ms", action="store_true", help="leave out the real lines resampled to 2 ms")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    names = args.models.split(",") if args.models else [n for n in ("best", "fast") if shipped_path(n).is_file()]
    fusers = [load_fuser(n) for n in names]
    models = [benchmark.model_row(f) for f in fusers]
    oracle = () if args.quick or args.no_oracles else benchmark.ORACLE_GRIDS
    surveys = dict(list(benchmark.HELD_OUT.items())[:2]) if args.quick else benchmark.HELD_OUT
    ratios = (0.5,) if args.quick else tuple(float(r) for r in args.ratios.split(","))
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        cases = benchmark.held_out(fusers, tmp, surveys, sections=args.sections, oracle=oracle, true_noise=not args.quick,
                                   progress=True)
        real = sorted(REALDATA.glob("*.sgy")) if REALDATA.is_dir() else []
        lines = [str(p) for p in real]
        if real and not args.quick and not args.no_2ms:
            lines += [str(benchmark.resampled_copy(p, Path(tmp) / f"{p.stem}_2ms.sgy", 2.0)) for p in real]
        if lines:
            cases += benchmark.semi_real(fusers, lines, Path(tmp) / "real", kinds=("white", "band"), ratios=ratios,
                                         oracle=oracle, true_noise=not args.quick, progress=True)
        else:
            print("(../shared/realdata not present: no semi-real cases)")
    print(f"models: {', '.join(f.name for f in fusers)} (the first is each case's model)\n")
    for c in cases:
        print(f"### {c.file}: {c.noise} noise at {c.ratio:g} x signal RMS ({c.sections} sections)\n")
        print(markdown(c) + "\n")
        sys.stdout.flush()
    summary = benchmark.summary(cases)
    classical_rows = tuple(k for c in cases for k in c.rows if k not in models and not benchmark.is_oracle(k))
    missed = {m: misses(cases, m, () if i == 0 else classical_rows) for i, m in enumerate(models)}
    print("### compact (README)\n")
    synthetic = [c for c in cases if c.file in benchmark.HELD_OUT]
    print(compact(synthetic, models) + "\n")
    if len(synthetic) < len(cases):
        print(compact([c for c in cases if c.file not in benchmark.HELD_OUT], models) + "\n")
    print("### summary\n")
    print(json.dumps(summary, indent=1))
    for m in models:
        won = sum(wins(c, m) for c in cases)
        print(f"{m}: ahead of every other row a user can run, on SSIM and PSNR, in {won} of {len(cases)} cases")
    print(f"\nspeed: {speed(cases, models)}")
    for i, m in enumerate(models):
        what = "every row a user can run" if i == 0 else "the classical rows"
        print(f"\n{m}: {len(missed[m])} misses against {what}" + (":" if missed[m] else ""))
        for line in missed[m]:
            print(f"  {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": [f.name for f in fusers], **benchmark.as_dict(cases),
                                               "summary": summary, "misses": missed, "speed": speed(cases, models)},
                                              indent=1, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
