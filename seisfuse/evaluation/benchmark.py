"""The semi-real protocol: real files with seeded noise added, fused, and scored against the originals.

For every input file, noise kind and ratio: write a noisy copy (``white``, or ``band`` 10-40 Hz,
at `ratio` x the signal RMS, seeded), fuse it with the model through the same streaming path
as ``seisfuse predict``, and score every section along the fusion axis against the original,
all normalized with the noisy copy's clip (as `evaluate` does): SSIM, PSNR (dB, data range 1)
and SNR (dB, 10 log10 |ref|^2 / |ref - out|^2 on the amplitudes inside the clip), with each
row's wall time per section. Rows: the model, the noisy input itself, every classical denoiser
installed (`seisfuse.denoisers`: gaussian, median, bilateral, f-x deconvolution, and with the
`baselines` extra BM3D with its sigma or noise spectrum estimated from the data) with the
parameters tuned once on synthetic training data, and two kinds of oracle that no user has:
the best setting of each cheap denoiser's grid on that very file, and BM3D given the true
noise (its spectrum measured from noisy - original). The comparison errs against the model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from seisfuse import denoisers
from seisfuse.branches import Branches, fit_normalizer
from seisfuse.errors import SeisfuseError, SettingError
from seisfuse.evaluation.metrics import fault_contrast, psnr, snr_db, ssim
from seisfuse.files import check_outputs
from seisfuse.inference.fusers import Fuser
from seisfuse.inference.predict import PredictOptions, Predictor
from seisfuse.progress import Progress
from seisfuse.segy import HeaderBytes, open_volume
from seisfuse.segy.dataset import write_like
from seisfuse.synth.noise import KINDS as NOISE_KINDS
from seisfuse.synth.noise import add_noise
from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

METRICS = ("SSIM", "PSNR", "SNR")
INPUT = "noisy input"
#: Denoisers whose grid is searched on the scored file itself (the "best on this file" oracle rows): the cheap ones.
ORACLE_GRIDS = ("gaussian", "median", "bilateral", "fxdecon")


@dataclass
class Case:
    """One file with one kind and level of noise: mean scores (and seconds per section) per row over its sections."""

    file: str
    noise: str
    ratio: float
    sections: int
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    model: str = ""

    def contenders(self) -> dict[str, dict[str, float]]:
        """Every row but the model's and the oracles (what a user could have run instead)."""
        return {k: v for k, v in self.rows.items() if k != self.model and not is_oracle(k)}

    def verdict(self) -> str:
        """Does the model beat every row a user could run (oracles aside) on SSIM and PSNR?"""
        m = self.rows[self.model]
        others = self.contenders()
        best = {metric: max(others, key=lambda k: others[k][metric]) for metric in ("SSIM", "PSNR")}
        wins = all(m[metric] > others[best[metric]][metric] for metric in best)
        detail = "; ".join(f"{metric}: {best[metric]} {others[best[metric]][metric]:.4f}" for metric in best)
        return (f"{self.file} {self.noise} {self.ratio:g}: model SSIM {m['SSIM']:.4f} / PSNR {m['PSNR']:.2f} "
                f"{'beats' if wins else 'does NOT beat'} every other row (best others: {detail})")

    def won(self, row: str, metric: str = "SSIM") -> bool:
        """True when the model scores above that row."""
        return self.rows[self.model][metric] > self.rows[row][metric]


def is_oracle(row: str) -> bool:
    """Rows that use knowledge no user has: the grid searched on the scored file, the true noise, the clean truth."""
    return "best on this file" in row or "oracle" in row or row == "clean (reference)"


def _scores(out: np.ndarray, ref: np.ndarray, fault: np.ndarray | None = None) -> dict[str, float]:
    scores = {"SSIM": ssim(out, ref), "PSNR": psnr(out, ref), "SNR": snr_db(out - 0.5, ref - 0.5)}
    if fault is not None:
        scores["fault_contrast"] = fault_contrast(out, fault)
    return scores


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}


def noisy_copy(source: str | os.PathLike, out: Path, kind: str, ratio: float, seed: int,
               header_bytes: HeaderBytes | None = None) -> Path:
    """Write source with seeded noise of one kind at ratio x its signal RMS (every header kept)."""
    with open_volume(source, header_bytes) as vol:
        data, dt = vol.read_grid(), vol.dt_ms
    noisy = add_noise(data, kind, ratio, np.random.default_rng(seed), dt)
    return write_like(source, out, noisy, header_bytes, force=True)


def resampled_copy(source: str | os.PathLike, out: Path, dt_ms: float,
                   header_bytes: HeaderBytes | None = None) -> Path:
    """Write source resampled in time to dt_ms (polyphase, anti-aliased), every other header kept: a real line
    as an oversampled one (2 ms from 4 ms: the signal smooth at the scale of a sample)."""
    from seisfuse.files import atomic_output
    from seisfuse.segy.writing import write_resampled
    from seisfuse.synth.noise import resample_time

    with open_volume(source, header_bytes) as vol:
        data = resample_time(vol.read_traces(np.arange(vol.n_traces)), vol.dt_ms, dt_ms, axis=1)
        with atomic_output(out) as tmp:
            write_resampled(vol, tmp, data, dt_ms)
    return out


def oracle_psd(noise: np.ndarray) -> np.ndarray:
    """The 2D PSD (bm3d's convention) of a known noise section (samples, traces): its temporal spectrum, every trace."""
    spectrum = np.mean(np.abs(np.fft.fft(np.asarray(noise, np.float64), axis=0)) ** 2, axis=1)
    return np.repeat(spectrum[:, None] * noise.shape[1], noise.shape[1], axis=1)


def classical_rows(oracle: Sequence[str] = ORACLE_GRIDS) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Every installed denoiser with its tuned parameters, then the grids searched per file (oracle rows)."""
    rows: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for name, info in denoisers.DENOISERS.items():
        if info.available():
            rows[f"{name} (tuned)"] = denoisers.create_denoiser(name)
    for name in oracle:
        for params in denoisers.get(name).grid:
            label = ", ".join(f"{k}={v:g}" for k, v in params.items())
            rows[f"{name} best on this file ({label})"] = denoisers.create_denoiser(name, **params)
    return rows


def score_sections(pairs: Sequence[tuple[np.ndarray, np.ndarray]], fused: Sequence[np.ndarray] | None,
                   rows: dict[str, Callable[[np.ndarray], np.ndarray]], model: str, model_seconds: float = math.nan,
                   true_noise: bool = True, faults: Sequence[np.ndarray] | None = None,
                   precomputed: dict[str, tuple[Sequence[np.ndarray], float]] | None = None) -> dict[str, dict[str, float]]:
    """Mean scores of every row over (noisy, reference) pairs in [0, 1] (with fault masks: fault contrast too);
    rows are functions of the noisy section, or outputs computed elsewhere with their seconds per section
    (precomputed: other models'); grid rows collapse to their best setting."""
    masks = list(faults) if faults is not None else [None] * len(pairs)

    def timed(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> list[dict[str, float]]:
        out = []
        for (raw, ref), mask in zip(pairs, masks, strict=True):
            t0 = time.perf_counter()
            image = fn(raw, ref)
            out.append({**_scores(image, ref, mask), "seconds": time.perf_counter() - t0})
        return out

    per: dict[str, list[dict[str, float]]] = {}
    if fused is not None:
        per[model] = [{**_scores(f, ref, m), "seconds": model_seconds}
                      for f, (_, ref), m in zip(fused, pairs, masks, strict=True)]
    per[INPUT] = [{**_scores(raw, ref, m), "seconds": 0.0} for (raw, ref), m in zip(pairs, masks, strict=True)]
    for name, (outs, seconds) in (precomputed or {}).items():
        per[name] = [{**_scores(o, ref, m), "seconds": seconds} for o, (_, ref), m in zip(outs, pairs, masks,
                                                                                         strict=True)]
    for name, fn in rows.items():
        per[name] = timed(lambda raw, ref, fn=fn: fn(raw))
    if true_noise and denoisers.get("bm3d-psd").available():
        from seisfuse.denoisers.bm3d import bm3d_psd_given

        per["bm3d (oracle: true noise spectrum)"] = timed(lambda raw, ref: bm3d_psd_given(raw, oracle_psd(raw - ref)))
    if faults is not None:
        per["clean (reference)"] = [{**_scores(ref, ref, m), "seconds": 0.0} for (_, ref), m in zip(pairs, masks,
                                                                                                 strict=True)]
    table = {k: _mean(v) for k, v in per.items()}
    for name in {k.split(" best on this file")[0] for k in table if "best on this file" in k}:
        grid = [k for k in table if k.startswith(f"{name} best on this file")]
        best = max(grid, key=lambda k: table[k]["SSIM"])
        for k in grid:
            if k != best:
                del table[k]
    return table


def check_ratios(ratios: Sequence[float]) -> tuple[float, ...]:
    """The noise ratios, or a SettingError naming them unless each is finite and > 0."""
    if not ratios or not all(math.isfinite(r) and r > 0 for r in ratios):
        raise SettingError("ratio", f"must be finite and > 0, got {', '.join(f'{r:g}' for r in ratios) or 'none'}")
    return tuple(ratios)


def model_row(fuser: Fuser) -> str:
    """The row name of a model in the tables."""
    return f"model ({fuser.name})"


def semi_real(fuser: Fuser | Sequence[Fuser], inputs: list[str], workdir: str | os.PathLike, *,
              kinds: tuple[str, ...] = ("white", "band"), ratios: Sequence[float] = (0.5,), seed: int = 0,
              header_bytes: HeaderBytes | None = None, options: PredictOptions | None = None,
              oracle: Sequence[str] = ORACLE_GRIDS, true_noise: bool = True, progress: bool = False) -> list[Case]:
    """Run the protocol on every input, noise kind and ratio; the noisy copies and fused files stay in workdir. With
    several models, the first is each case's model (its verdict) and the others are rows beside it."""
    fusers = [fuser] if isinstance(fuser, Fuser) else list(fuser)
    bad = [k for k in kinds if k not in NOISE_KINDS]
    if bad:
        raise SettingError("noise", f"unknown noise kind {bad[0]!r}; valid: {', '.join(NOISE_KINDS)}")
    check_ratios(ratios)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    plan = [(path, kind, ratio, work / f"{Path(path).stem}_{kind}{ratio:g}.sgy") for path in inputs for kind in kinds
            for ratio in ratios]
    fused = [[work / f"{noisy.stem}_fused{'' if i == 0 else '_' + Path(f.name).stem}.sgy" for i, f in enumerate(fusers)]
             for *_, noisy in plan]
    # the copies it writes replace earlier copies, but never an input, a model, nor each other (two inputs of one name)
    check_outputs([p for *_, noisy in plan for p in (noisy,)] + [p for row in fused for p in row],
                  [*inputs, *(f.source for f in fusers if f.source is not None)], force=True, first_is_input=False)
    for path, kind, ratio, noisy in plan:
        noisy_copy(path, noisy, kind, ratio, seed, header_bytes)
    options = replace(options or PredictOptions(), force=True, header_bytes=header_bytes)
    seconds = []  # per model, per case: seconds per section, measured on the same files
    for i, f in enumerate(fusers):
        results = Predictor(f, options, device="cpu", progress=False).run(
            [(noisy, out[i]) for (*_, noisy), out in zip(plan, fused, strict=True)])
        for result in results:
            if result.status == "failed":
                raise SettingError(result.setting, result.error) if result.setting else SeisfuseError(result.error)
        seconds.append([r.seconds / max(r.sections, 1) for r in results])
    rows = classical_rows(oracle)
    cases = []
    with Progress(len(plan), "semi-real cases: every row", unit="case", enabled=progress) as bar:
        for j, ((path, kind, ratio, noisy), out) in enumerate(zip(plan, fused, strict=True)):
            cases.append(_score(path, kind, ratio, noisy, out, fusers, [s[j] for s in seconds], header_bytes, rows,
                                true_noise))
            bar.update()
    return cases


def _score(path: str, kind: str, ratio: float, noisy: Path, fused: list[Path], fusers: list[Fuser],
           seconds: list[float], header_bytes: HeaderBytes | None, rows: dict[str, Callable[[np.ndarray], np.ndarray]],
           true_noise: bool) -> Case:
    """Mean scores of every row over the sections along the fusion axis (the first model's is the case's model)."""
    volumes = [open_volume(p, header_bytes) for p in (noisy, path, *fused)]
    try:
        nv, ov, *fv = volumes
        norm = fit_normalizer(nv, fusers[0].settings.clip_percentile)
        axis = nv.fusion_axes("auto")[0]
        n = nv.n_sections(axis)
        pairs = [(norm.forward(nv.section(axis, k)), norm.forward(ov.section(axis, k))) for k in range(n)]
        outs = [[norm.forward(v.section(axis, k)) for k in range(n)] for v in fv]
    finally:
        for v in volumes:
            v.close()
    others = {model_row(f): (o, s) for f, o, s in zip(fusers[1:], outs[1:], seconds[1:], strict=True)}
    model = model_row(fusers[0])
    return Case(Path(path).name, kind, ratio, n,
                score_sections(pairs, outs[0], rows, model, seconds[0], true_noise, precomputed=others), model)


def summary(cases: list[Case]) -> dict[str, float]:
    """The figures a run is ranked by: mean SSIM / PSNR of the model per kind of case (synthetic held-out surveys,
    semi-real lines), and how many cases it wins on SSIM against each row a user could run instead."""
    out: dict[str, float] = {"cases": float(len(cases))}
    for kind, group in (("synthetic", [c for c in cases if c.file in HELD_OUT]),
                        ("semi_real", [c for c in cases if c.file not in HELD_OUT])):
        if group:
            out[f"{kind}_ssim_mean"] = float(np.mean([c.rows[c.model]["SSIM"] for c in group]))
            out[f"{kind}_psnr_mean"] = float(np.mean([c.rows[c.model]["PSNR"] for c in group]))
    for c in cases:
        for row in c.contenders():
            key = "wins_vs_" + row.split(" (")[0].replace(" ", "_")
            out[key] = out.get(key, 0.0) + float(c.won(row))
    return out


def table(cases: list[Case]) -> str:
    """A fixed-width text table: one block per case, the best of each metric among the contenders starred."""
    lines = []
    for case in cases:
        lines.append(f"{case.file} + {case.noise} noise at {case.ratio:g} x signal RMS ({case.sections} sections)")
        width = max(len(k) for k in case.rows)
        lines.append(f"  {'':<{width}} " + " ".join(f"{m:>9}" for m in METRICS) + "  s/section")
        mine = {k: v for k, v in case.rows.items() if not is_oracle(k)}
        best = {m: max(r[m] for r in mine.values() if math.isfinite(r[m])) for m in METRICS}
        for name, r in case.rows.items():
            cells = " ".join(f"{r[m]:>8.4f}{'*' if r[m] == best[m] and name in mine else ' '}" for m in METRICS)
            lines.append(f"  {name:<{width}} {cells} {r['seconds']:>9.3f}")
        lines.append("  " + case.verdict())
    return "\n".join(lines)


def as_dict(cases: list[Case]) -> dict:
    """Plain data for JSON."""
    return {"protocol": "noisy copy of each original (seeded), normalized with the noisy clip; SSIM and PSNR on "
                        "[0, 1], SNR on the centred amplitudes inside the clip; seconds per section; rows marked "
                        "'best on this file' (the denoiser's grid searched on that file) or 'oracle' (BM3D given "
                        "the true noise) use knowledge no user has and are left out of the verdict",
            "cases": [{"file": c.file, "noise": c.noise, "ratio": c.ratio, "sections": c.sections, "rows": c.rows,
                       "model": c.model, "verdict": c.verdict()} for c in cases]}


#: Held-out synthetic surveys: seeds no config draws, knobs across the training ranges' corners (white, band-limited,
#: laterally correlated and mixed noise at 0.2 to 1.0 of the signal RMS; 2 and 4 ms; 20 to 40 Hz).
HELD_OUT: dict[str, SynthConfig] = {
    "white 0.3": SynthConfig(inlines=24, crosslines=128, samples=192, faults=4, seed=902, freq_hz=30),
    "white 1.0": SynthConfig(inlines=24, crosslines=128, samples=256, faults=3, seed=903, freq_hz=20, dt_ms=2,
                             noise=1.0, texture=0.5),
    "band 0.2": SynthConfig(inlines=24, crosslines=128, samples=192, faults=3, seed=904, freq_hz=35, noise=0.2,
                            noise_kind="band"),
    "band 0.6": SynthConfig(inlines=24, crosslines=128, samples=256, faults=3, seed=905, freq_hz=22, phase_deg=30,
                            noise=0.6, noise_kind="band"),
    "lateral 0.4": SynthConfig(inlines=24, crosslines=128, samples=256, faults=3, seed=906, freq_hz=40, dt_ms=2,
                               phase_deg=-60, noise=0.4, noise_kind="lateral"),
    "mixed 0.8": SynthConfig(inlines=24, crosslines=128, samples=192, faults=4, seed=907, freq_hz=25, noise=0.8,
                             noise_kind="white+band", texture=0.8),
}


def held_out(fuser: Fuser | Sequence[Fuser], workdir: str | os.PathLike, surveys: dict[str, SynthConfig] | None = None,
             *, sections: int = 8, oracle: Sequence[str] = ORACLE_GRIDS, true_noise: bool = True,
             classical: Sequence[str] | None = None, progress: bool = False) -> list[Case]:
    """Every held-out survey against its clean volume: the model (through the inference spine; with several, the
    first is the case's model and the others rows beside it), the input, the classical denoisers, the oracles, and
    the clean volume's own fault contrast."""
    fusers = [fuser] if isinstance(fuser, Fuser) else list(fuser)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    rows = classical_rows(oracle)
    if classical is not None:
        rows = {k: v for k, v in rows.items() if k.split(" ")[0] in classical or is_oracle(k)}
    cases = []
    bar = Progress(len(surveys or HELD_OUT), "held-out surveys: every row", unit="survey", enabled=progress)
    for title, cfg in (surveys or HELD_OUT).items():
        survey = make_survey(cfg)
        path = work / f"held_out_{cfg.seed}.sgy"
        write_volume(path, survey.seismic, cfg)
        outputs = []
        for f in fusers:
            with open_volume(path) as vol:
                branches = Branches.of_volume(f.settings, vol)
                picks = sorted({int(round(x)) for x in np.linspace(0, cfg.inlines - 1, num=min(sections, cfg.inlines))})
                noisy = [vol.section("inline", k) for k in picks]
            f.fuse_amplitudes(noisy[:1], branches)  # warm-up: one-time costs are not a section's
            t0 = time.perf_counter()
            fused = f.fuse_amplitudes(noisy, branches)
            outputs.append((fused, (time.perf_counter() - t0) / len(picks), branches.normalizer))
        norm = outputs[0][2]  # every row in the first model's units
        pairs = [(norm.forward(n), norm.forward(survey.clean[k].T)) for n, k in zip(noisy, picks, strict=True)]
        faults = [survey.fault_mask[k].T for k in picks]
        model = model_row(fusers[0])
        others = {model_row(f): (list(norm.forward(o[0])), o[1]) for f, o in zip(fusers[1:], outputs[1:], strict=True)}
        cases.append(Case(title, cfg.noise_kind, cfg.noise, len(picks),
                          score_sections(pairs, list(norm.forward(outputs[0][0])), rows, model, outputs[0][1],
                                         true_noise, faults, precomputed=others), model))
        bar.update()
    bar.close()
    return cases
