"""Field-data benchmark: adaptation to a line without its clean original, and the reference-free checks on real lines.

1. Semi-real adaptation: each real line of ../shared/realdata (and the line resampled to 2 ms) gets seeded
   white or 10-40 Hz band noise at 0.3, 0.5 and 1.0 of its signal RMS. The shipped model is adapted to the
   noisy line alone (`seisfuse fit --config configs/adapt.yaml --data.files=NOISY`, blind-spot training on
   that line mixed with synthetic anchors; the original is never seen), then the adapted model, the shipped
   model, the input and the classical denoisers (BM3D with estimated noise, f-x deconvolution, ...) are
   scored against the original line (SSIM, PSNR).
2. Real lines as they are (their own field noise, nothing added): leakage (local similarity of the removed
   noise and the output), removed energy, and the -6 dB band kept, for the shipped model, the model adapted
   to the line, BM3D and f-x deconvolution; one QC panel per line.

    python scripts/bench/bench_field.py [--ratios 0.3,0.5,1.0] [--lines ln472_old] [--json field.json] [--panels DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from seisfuse import denoisers
from seisfuse.branches import fit_normalizer
from seisfuse.evaluation import benchmark
from seisfuse.evaluation.qc import field_qc
from seisfuse.inference.fusers import load_fuser
from seisfuse.inference.predict import PredictOptions, Predictor
from seisfuse.inference.weights import shipped_path
from seisfuse.segy import open_volume
from seisfuse.training.train import run_lightning_cli

ROOT = Path(__file__).resolve().parents[2]
REALDATA = ROOT.parent / "shared" / "realdata"
ADAPT = {"fast": ROOT / "configs" / "adapt.yaml", "best": ROOT / "configs" / "adapt_best.yaml"}
MODEL = {"name": "fast"}  # the shipped model adapted (--model)


def adapt(noisy: Path, run: Path, extra: list[str]) -> tuple[Path, float]:
    """Adapt the shipped model to one file; the checkpoint and the seconds it took."""
    t0 = time.perf_counter()
    run_lightning_cli(["fit", "--config", str(ADAPT[MODEL["name"]]), f"--data.files=[{noisy}]",
                       f"--trainer.default_root_dir={run}", "--trainer.enable_progress_bar=false", *extra])
    return run / "checkpoints" / "last.ckpt", time.perf_counter() - t0


def fuse(ckpt: Path | str | None, src: Path, out: Path) -> None:
    """Predict a file with a model (None: the shipped default; a shipped name; a file)."""
    (result,) = Predictor(load_fuser(ckpt), PredictOptions(num_workers=0, force=True), device="cpu",
                          progress=False).run([(src, out)])
    if result.status != "written":
        raise SystemExit(f"{src}: {result.error}")


def section(path: Path) -> tuple[np.ndarray, float]:
    """The line's one section (2D) or its middle inline, and its sample interval."""
    with open_volume(path) as v:
        axis = v.fusion_axes("auto")[0]
        return v.section(axis, v.n_sections(axis) // 2), v.dt_ms


def semi_real_adaptation(lines: list[Path], kinds: list[str], ratios: list[float], work: Path, extra: list[str]) -> list[dict]:
    """Adapted vs shipped vs the rest on every noisy copy, against the original."""
    rows = []
    for line in lines:
        for kind in kinds:
            for ratio in ratios:
                stem = f"{line.stem}_{kind}{ratio:g}"
                noisy = benchmark.noisy_copy(line, work / f"{stem}.sgy", kind, ratio, seed=0)
                ckpt, seconds = adapt(noisy, work / f"adapt_{stem}", extra)
                fuse(ckpt, noisy, work / f"{stem}_adapted.sgy")
                fuse(MODEL["name"], noisy, work / f"{stem}_shipped.sgy")
                with open_volume(noisy) as nv, open_volume(line) as ov, \
                        open_volume(work / f"{stem}_adapted.sgy") as av, open_volume(work / f"{stem}_shipped.sgy") as sv:
                    norm = fit_normalizer(nv)
                    axis = nv.fusion_axes("auto")[0]
                    pairs = [(norm.forward(nv.section(axis, k)), norm.forward(ov.section(axis, k)))
                             for k in range(nv.n_sections(axis))]
                    adapted = [norm.forward(av.section(axis, k)) for k in range(nv.n_sections(axis))]
                    shipped = {f"{MODEL['name']} model": (
                        [norm.forward(sv.section(axis, k)) for k in range(nv.n_sections(axis))], float("nan"))}
                table = benchmark.score_sections(pairs, adapted, benchmark.classical_rows(()), "adapted model",
                                                 true_noise=False, precomputed=shipped)
                case = benchmark.Case(line.name, kind, ratio, len(pairs), table, "adapted model")
                rows.append({"file": line.name, "noise": kind, "ratio": ratio, "adapt_seconds": seconds,
                             "rows": table, "verdict": case.verdict()})
                print(f"{case.verdict()}  (adapted in {seconds:.0f} s)", flush=True)
    return rows


def field_checks(lines: list[Path], work: Path, extra: list[str], panels: Path | None, adapted: bool = True) -> list[dict]:
    """The reference-free checks on each real line as it is."""
    out = []
    for line in lines:
        if adapted:
            ckpt, _ = adapt(line, work / f"adapt_field_{line.stem}", extra)
            fuse(ckpt, line, work / f"{line.stem}_adapted.sgy")
        shipped = [n for n in ("fast", "best") if shipped_path(n).is_file()]
        for name in shipped:
            fuse(name, line, work / f"{line.stem}_{name}.sgy")
        raw_amp, dt = section(line)
        with open_volume(line) as v:
            norm = fit_normalizer(v)
        raw = norm.forward(raw_amp)
        outputs = {f"{MODEL['name']}, adapted": norm.forward(section(work / f"{line.stem}_adapted.sgy")[0])} \
            if adapted else {}
        outputs.update({f"{n} model": norm.forward(section(work / f"{line.stem}_{n}.sgy")[0]) for n in shipped})
        for name in ("bm3d", "bm3d-psd", "bm3d-so", "fxdecon"):
            if denoisers.get(name).available():
                outputs[f"{name} (tuned)"] = denoisers.create_denoiser(name)(raw)
        checks = {name: field_qc(raw - 0.5, img - 0.5, dt).as_dict() for name, img in outputs.items()}
        out.append({"file": line.name, "checks": checks})
        print(f"\n{line.name}: leakage mean / share > 0.3 / removed energy / -6 dB band kept")
        for name, c in checks.items():
            print(f"  {name:22s} {c['leakage_mean']:.3f} / {c['leakage_share']:.3f} / {c['removed_energy']:.3f} / "
                  f"{c['band_6db_out_low_hz']:.0f}-{c['band_6db_out_high_hz']:.0f} Hz "
                  f"(input {c['band_6db_in_low_hz']:.0f}-{c['band_6db_in_high_hz']:.0f})", flush=True)
        if panels is not None:
            panels.mkdir(parents=True, exist_ok=True)
            from seisfuse.evaluation.qc import local_similarity
            from seisfuse.evaluation.viz import Extent, qc_figure, save_png

            sim = {k: local_similarity(raw - v, v - 0.5) for k, v in outputs.items()}
            extent = Extent("trace", 0, raw.shape[1], "time (ms)", 0, dt * (raw.shape[0] - 1))
            save_png(qc_figure(raw, outputs, extent, dt, f"{line.name} as it is (its own field noise, nothing added)",
                               sim, norm.clip), panels / f"qc_{line.stem}.png")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", default=None, help="comma-separated stems of ../shared/realdata lines (default all "
                                                  "whose sections are at least 64 traces wide)")
    ap.add_argument("--noise", default="white,band")
    ap.add_argument("--ratios", default="0.3,0.5,1.0")
    ap.add_argument("--no-2ms", action="store_true", help="skip the lines resampled to 2 ms")
    ap.add_argument("--panels", default=None, help="folder for the QC panels")
    ap.add_argument("--json", default=None)
    ap.add_argument("--model", choices=sorted(ADAPT), default="fast", help="the shipped model adapted (default fast)")
    ap.add_argument("--field-only", action="store_true", help="only the checks on the lines as they are")
    ap.add_argument("--no-adapt", action="store_true", help="the checks without an adapted model")
    ap.add_argument("adapt_args", nargs="*", help="extra --key=value settings for the adaptation runs")
    args = ap.parse_args()
    MODEL["name"] = args.model
    real = sorted(REALDATA.glob("*.sgy")) if REALDATA.is_dir() else []
    if args.lines:
        real = [p for p in real if p.stem in args.lines.split(",")]
    wide = []
    for p in real:
        with open_volume(p) as v:
            if v.section_width(v.fusion_axes("auto")[0]) >= 64:
                wide.append(p)
            else:
                print(f"{p.name}: sections {v.section_width(v.fusion_axes('auto')[0])} traces wide, too narrow for "
                      "64 x 64 adaptation patches: not adapted")
    if not wide:
        raise SystemExit("no real line to adapt to (../shared/realdata)")
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        work = Path(tmp)
        lines = list(wide)
        if not args.no_2ms:
            lines += [benchmark.resampled_copy(p, work / f"{p.stem}_2ms.sgy", 2.0) for p in wide]
        result = {"semi_real": [] if args.field_only else semi_real_adaptation(
                      lines, args.noise.split(","), [float(r) for r in args.ratios.split(",")], work, args.adapt_args),
                  "field": field_checks(wide, work, args.adapt_args, Path(args.panels) if args.panels else None,
                                        adapted=not args.no_adapt)}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
