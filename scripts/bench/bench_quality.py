"""Quality benchmark: the README's results tables, against references, from one command.

Held-out synthetic surveys (seeds and knobs unlike the training draws; clean volume and fault
mask as reference): the model (the shipped one, or --ckpt) against the input itself, the fusion
baselines, the classical filters with their tuned parameters, and each filter's best setting on
that very survey (an oracle). Then the semi-real protocol (`seisfuse benchmark`) on the shared
real lines when ../shared/realdata is present. Prints markdown tables and writes JSON.

    python scripts/bench/bench_quality.py [--ckpt CKPT] [--json quality.json] [--sections 8]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from seisfuse.models.baselines import GRID, TUNED, method

from seisfuse.benchmark import semi_real
from seisfuse.branches import Branches, fit_normalizer
from seisfuse.evaluate import INPUT_ROW, evaluate, sample_sections
from seisfuse.fusers import baseline_fuser, load_fuser
from seisfuse.metrics import fault_contrast, psnr, qabf, snr_db, ssim
from seisfuse.predict import PredictOptions, Predictor
from seisfuse.segy import open_volume
from seisfuse.synth import SynthConfig, make_survey, write_volume

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"
SURVEYS = {  # held out: seeds and knobs the training ranges never drew together
    "demo survey (white noise 0.3)": SynthConfig(inlines=48, crosslines=96, samples=192, faults=4, seed=2),
    "band-limited noise 0.6": SynthConfig(inlines=32, crosslines=128, samples=256, faults=3, seed=77, freq_hz=22,
                                          phase_deg=30, noise=0.6, noise_kind="band"),
    "laterally correlated noise 0.4": SynthConfig(inlines=32, crosslines=128, samples=256, faults=3, seed=78,
                                                  freq_hz=40, noise=0.4, noise_kind="lateral", dt_ms=2,
                                                  phase_deg=-60),
}
COLUMNS = ["SSIM_clean", "PSNR_clean", "SNR_clean", "fault_contrast", "Qabf_clean"]
FUSION_BASELINES = ("average", "laplacian", "wavelet")


def write_survey(folder: Path, name: str, cfg: SynthConfig) -> dict[str, Path]:
    s = make_survey(cfg)
    paths = {k: folder / f"{name}_{k}.sgy" for k in ("seismic", "clean", "mask")}
    write_volume(paths["seismic"], s.seismic, cfg)
    write_volume(paths["clean"], s.clean, cfg, "clean")
    write_volume(paths["mask"], s.fault_mask, cfg, "fault mask")
    return paths


def oracle_rows(paths: dict[str, Path], settings, n_sections: int) -> dict[str, dict[str, float]]:
    """Each filter's best grid setting by SSIM to clean, on the same sections evaluate scores."""
    with open_volume(paths["seismic"]) as src, open_volume(paths["clean"]) as cl, open_volume(paths["mask"]) as mk:
        branches = Branches(settings, fit_normalizer(src, settings.clip_percentile))
        picks = sample_sections(src, "inline", n_sections)
        data = []
        for k in picks:
            raw, _ = branches.pair(src.section("inline", k))
            clean, clean_edge = branches.pair(cl.section("inline", k))
            data.append((raw, clean, clean_edge, mk.section("inline", k)))
    rows = {}
    for name, grid in GRID.items():
        scored = []
        for params in grid:
            fn = method(name, **params)
            outs = [fn(raw, raw) for raw, *_ in data]
            scored.append((float(np.mean([ssim(o, d[1]) for o, d in zip(outs, data, strict=True)])), params, outs))
        best, params, outs = max(scored, key=lambda t: t[0])
        label = ", ".join(f"{k}={v:g}" for k, v in params.items())
        rows[f"{name} best on this survey ({label})"] = {
            "SSIM_clean": best,
            "PSNR_clean": float(np.mean([psnr(o, d[1]) for o, d in zip(outs, data, strict=True)])),
            "SNR_clean": float(np.mean([snr_db(o - 0.5, d[1] - 0.5) for o, d in zip(outs, data, strict=True)])),
            "fault_contrast": float(np.mean([fault_contrast(o, d[3]) for o, d in zip(outs, data, strict=True)])),
            "Qabf_clean": float(np.mean([qabf(d[1], d[2], o) for o, d in zip(outs, data, strict=True)])),
        }
    return rows


def markdown(rows: dict[str, dict[str, float]], columns: list[str], model: str) -> str:
    scored = [r for name, r in rows.items() if not name.startswith("clean volume")]  # the reference is not a contender
    best = {c: max((r[c] for r in scored if c in r and math.isfinite(r[c])), default=math.nan) for c in columns}
    lines = ["| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, r in rows.items():
        cells = []
        for c in columns:
            v = r.get(c, math.nan)
            text = "" if not math.isfinite(v) else f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"
            cells.append(f"**{text}**" if math.isfinite(v) and v == best[c] else text)
        label = f"**{name}**" if name == model else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=None, help="model (default: the shipped pretrained model)")
    ap.add_argument("--sections", type=int, default=8)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    fuser = load_fuser(args.ckpt)
    out: dict = {"model": fuser.name, "synthetic": {}, "semi_real": []}
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        folder = Path(tmp)
        for title, cfg in SURVEYS.items():
            name = f"s{cfg.seed}"
            paths = write_survey(folder, name, cfg)
            fused = {"model": folder / f"{name}_model.sgy"}
            jobs = [(paths["seismic"], fused["model"])]
            Predictor(fuser, PredictOptions(num_workers=0), device="cpu", progress=False).run(jobs)
            for b in (*FUSION_BASELINES, *TUNED):
                fused[b] = folder / f"{name}_{b}.sgy"
                Predictor(baseline_fuser(b, fuser.settings), PredictOptions(num_workers=0), device="cpu",
                          progress=False).run([(paths["seismic"], fused[b])])
            res = evaluate(str(paths["seismic"]), [str(p) for p in fused.values()], fuser.settings,
                           clean_path=str(paths["clean"]), fault_mask_path=str(paths["mask"]),
                           n_sections=args.sections)
            labels = {f"{name}_{b}.sgy": (f"{b} (tuned)" if b in TUNED else f"{b} fusion") for b in fused}
            labels[f"{name}_model.sgy"] = f"model ({fuser.name})"
            rows = {INPUT_ROW: res.rows[INPUT_ROW]}
            rows.update({labels[k]: v for k, v in res.rows.items() if k in labels})
            rows.update(oracle_rows(paths, fuser.settings, args.sections))
            with open_volume(paths["clean"]) as cl, open_volume(paths["mask"]) as mk:
                picks = sample_sections(cl, "inline", args.sections)
                rows["clean volume (for reference)"] = {"fault_contrast": float(np.mean(
                    [fault_contrast(cl.section("inline", k), mk.section("inline", k)) for k in picks]))}
            out["synthetic"][title] = rows
            print(f"\n### {title} ({cfg.inlines} x {cfg.crosslines} x {cfg.samples}, seed {cfg.seed}, "
                  f"{args.sections} inlines)\n")
            print(markdown(rows, COLUMNS, f"model ({fuser.name})"))
            sys.stdout.flush()
        real = sorted(REALDATA.glob("*.sgy")) if REALDATA.is_dir() else []
        if real:
            cases = semi_real(fuser, [str(p) for p in real], folder / "real", kinds=("white", "band"), ratio=0.5)
            print("\n### real lines with added noise (0.5 x signal RMS), original as reference\n")
            print("| file | noise | model SSIM | noisy input | best tuned filter | best filter on this file | verdict |")
            print("|---|---|---|---|---|---|---|")
            for c in cases:
                tuned = max((k for k in c.rows if k.endswith("(tuned)")), key=lambda k: c.rows[k]["SSIM"])
                oracle = max((k for k in c.rows if "best on this file" in k), key=lambda k: c.rows[k]["SSIM"])
                m = c.rows[c.model]["SSIM"]
                beat = m > max(v["SSIM"] for k, v in c.rows.items() if k != c.model)
                best = max(v["SSIM"] for v in c.rows.values())

                def cell(v: float, label: str = "", best: float = best) -> str:
                    text = f"{v:.3f}{label}"
                    return f"**{text}**" if v == best else text

                print(f"| {c.file} | {c.noise} | {cell(m)} | {cell(c.rows['noisy input']['SSIM'])} | "
                      f"{cell(c.rows[tuned]['SSIM'], ' (' + tuned.split(' ')[0] + ')')} | "
                      f"{cell(c.rows[oracle]['SSIM'], ' (' + oracle.split(' ')[0] + ')')} | "
                      f"{'beats all' if beat else 'does not beat all'} |")
                out["semi_real"].append({"file": c.file, "noise": c.noise, "rows": c.rows, "verdict": c.verdict()})
        else:
            print("\n(../shared/realdata not present: no semi-real table)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
