"""The semi-real protocol: real files with seeded noise added, fused, and scored against the originals.

For every input file and noise kind: write a noisy copy (``white``, or ``band`` 10-40 Hz,
at `ratio` x the signal RMS, seeded), fuse it with the model through the same streaming
path as ``seisfuse predict``, and score every section along the fusion axis against the
original, all normalized with the noisy copy's clip (as `evaluate` does): SSIM, PSNR (dB,
data range 1) and SNR (dB, 10 log10 |ref|^2 / |ref - out|^2 on the amplitudes inside the
clip). Rows: the model, the noisy input itself, the classical filters with their tuned
parameters (one OpenCV call each), and for each filter the best setting of its grid on
that very file (an oracle: the strongest classical result possible, not a fair competitor,
so the comparison errs against the model). The verdict compares the model with every row.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from seisfuse.errors import SeisfuseError, SettingError
from seisfuse.fusers import Fuser
from seisfuse.metrics import psnr, snr_db, ssim
from seisfuse.models.baselines import GRID, TUNED, method
from seisfuse.noise import KINDS as NOISE_KINDS
from seisfuse.noise import add_noise
from seisfuse.normalize import fit_normalizer
from seisfuse.predict import PredictOptions, Predictor
from seisfuse.segy import HeaderBytes, open_volume
from seisfuse.segy.dataset import write_like

METRICS = ("SSIM", "PSNR", "SNR")
INPUT = "noisy input"


@dataclass
class Case:
    """One file with one kind of noise: mean scores per method over its sections."""

    file: str
    noise: str
    ratio: float
    sections: int
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    model: str = ""

    def verdict(self) -> str:
        """Does the model beat every other row on SSIM?"""
        others = {k: v["SSIM"] for k, v in self.rows.items() if k != self.model}
        best = max(others, key=others.get)
        word = "beats" if self.rows[self.model]["SSIM"] > others[best] else "does NOT beat"
        return f"{self.file} {self.noise}: model SSIM {self.rows[self.model]['SSIM']:.4f} {word} every other row " \
               f"(best: {best} {others[best]:.4f})"


def _scores(out: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    return {"SSIM": ssim(out, ref), "PSNR": psnr(out, ref), "SNR": snr_db(out - 0.5, ref - 0.5)}


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: float(np.mean([r[m] for r in rows])) for m in METRICS}


def noisy_copy(source: str | os.PathLike, out: Path, kind: str, ratio: float, seed: int,
               header_bytes: HeaderBytes | None = None) -> Path:
    """Write source with seeded noise of one kind at ratio x its signal RMS (every header kept)."""
    with open_volume(source, header_bytes) as vol:
        grid = vol.geometry.grid
        data = np.zeros((*grid.shape, vol.n_samples), dtype=np.float32)
        live = grid >= 0
        data[live] = vol.read_traces(grid[live])
        dt = vol.dt_ms
    noisy = add_noise(data, kind, ratio, np.random.default_rng(seed), dt)
    return write_like(source, out, noisy, header_bytes, force=True)


def semi_real(fuser: Fuser, inputs: list[str], workdir: str | os.PathLike, *, kinds: tuple[str, ...] = ("white", "band"),
              ratio: float = 0.5, seed: int = 0, header_bytes: HeaderBytes | None = None,
              options: PredictOptions | None = None) -> list[Case]:
    """Run the protocol on every input and noise kind; the noisy copies and fused files stay in workdir."""
    bad = [k for k in kinds if k not in NOISE_KINDS]
    if bad:
        raise SettingError("noise", f"unknown noise kind {bad[0]!r}; valid: {', '.join(NOISE_KINDS)}")
    if not ratio > 0:
        raise SettingError("ratio", f"must be > 0, got {ratio}")
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    jobs, plan = [], []
    for path in inputs:
        for kind in kinds:
            stem = f"{Path(path).stem}_{kind}{ratio:g}"
            noisy = noisy_copy(path, work / f"{stem}.sgy", kind, ratio, seed, header_bytes)
            fused = work / f"{stem}_fused.sgy"
            jobs.append((noisy, fused))
            plan.append((path, kind, noisy, fused))
    options = replace(options or PredictOptions(), force=True, header_bytes=header_bytes)
    for result in Predictor(fuser, options, device="cpu", progress=False).run(jobs):
        if result.status == "failed":
            raise SettingError(result.setting, result.error) if result.setting else SeisfuseError(result.error)
    cases = []
    for path, kind, noisy, fused in plan:
        cases.append(_score(path, kind, ratio, noisy, fused, fuser, header_bytes))
    return cases


def _score(path: str, kind: str, ratio: float, noisy: Path, fused: Path, fuser: Fuser,
           header_bytes: HeaderBytes | None) -> Case:
    """Mean scores of every row over the sections along the fusion axis."""
    model = f"model ({fuser.name})"
    tuned = {name: method(name) for name in TUNED}
    grid = {(name, i): method(name, **params) for name, options in GRID.items() for i, params in enumerate(options)}
    per: dict[str, list[dict[str, float]]] = {model: [], INPUT: [], **{f"{n} (tuned)": [] for n in tuned}}
    grid_rows: dict[tuple[str, int], list[dict[str, float]]] = {k: [] for k in grid}
    with open_volume(noisy, header_bytes) as nv, open_volume(path, header_bytes) as ov, \
            open_volume(fused, header_bytes) as fv:
        norm = fit_normalizer(nv, fuser.settings.clip_percentile)
        axis = nv.fusion_axes("auto")[0]
        n = nv.n_sections(axis)
        for k in range(n):
            raw = norm.forward(nv.section(axis, k))
            ref = norm.forward(ov.section(axis, k))
            per[model].append(_scores(norm.forward(fv.section(axis, k)), ref))
            per[INPUT].append(_scores(raw, ref))
            for name, fn in tuned.items():
                per[f"{name} (tuned)"].append(_scores(fn(raw, raw), ref))
            for key, fn in grid.items():
                grid_rows[key].append(_scores(fn(raw, raw), ref))
    case = Case(Path(path).name, kind, ratio, n, {k: _mean(v) for k, v in per.items()}, model)
    for name, options in GRID.items():
        best = max(range(len(options)), key=lambda i: np.mean([s["SSIM"] for s in grid_rows[(name, i)]]))
        params = ", ".join(f"{k}={v:g}" for k, v in options[best].items())
        case.rows[f"{name} best on this file ({params})"] = _mean(grid_rows[(name, best)])
    return case


def table(cases: list[Case]) -> str:
    """A fixed-width text table: one block per (file, noise), the best of each metric starred."""
    lines = []
    for case in cases:
        lines.append(f"{case.file} + {case.noise} noise at {case.ratio:g} x signal RMS ({case.sections} sections)")
        width = max(len(k) for k in case.rows)
        lines.append(f"  {'':<{width}} " + " ".join(f"{m:>9}" for m in METRICS))
        best = {m: max(r[m] for r in case.rows.values() if math.isfinite(r[m])) for m in METRICS}
        for name, r in case.rows.items():
            cells = " ".join(f"{r[m]:>8.4f}{'*' if r[m] == best[m] else ' '}" for m in METRICS)
            lines.append(f"  {name:<{width}} {cells}")
        lines.append("  " + case.verdict())
    return "\n".join(lines)


def as_dict(cases: list[Case]) -> dict:
    """Plain data for JSON."""
    return {"protocol": "noisy copy of each original (seeded), normalized with the noisy clip; SSIM and PSNR on "
                        "[0, 1], SNR on the centred amplitudes inside the clip; '(best on this file)' rows are the "
                        "best of the filter's grid on that file (an oracle)",
            "cases": [{"file": c.file, "noise": c.noise, "ratio": c.ratio, "sections": c.sections, "rows": c.rows,
                       "model": c.model, "verdict": c.verdict()} for c in cases]}
