"""Scoring fused volumes: metric tables over a sample of sections, the input itself always a row.

Every volume is mapped to [0, 1] with the *input's* normalization (the same clip), so a
fused file is judged in the units it was written in and nothing is re-stretched. The
edge branch is made from the input with the given branch settings. With a clean
(noise-free) volume and a fault mask, as `seisfuse synth` writes, the reference metrics
are added (SSIM, PSNR, SNR and VIF to the clean section, Qabf_clean from the clean section
and its edge branch, fault contrast). The input (raw) is scored as a row like any fused
file, and so are the classical denoisers asked for (`seisfuse.denoisers`, run on the
sampled sections with their tuned parameters, with their seconds per section); the
verdict compares the first fused file with every other row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seisfuse import denoisers
from seisfuse.branches import Branches, BranchSettings
from seisfuse.errors import SettingError
from seisfuse.evaluation.metrics import REFERENCE, SUITE, fusion_metrics
from seisfuse.evaluation.qc import amplitude_spectrum, field_qc
from seisfuse.progress import Progress
from seisfuse.segy import GridVolume, HeaderBytes, check_same_geometry, open_volume

#: Columns of the printed table (all metrics go to JSON).
TABLE = ["Qabf", "MI", "EN", "SD", "SF", "VIF", "SSIM_raw", "SSIM_clean", "PSNR_clean", "SNR_clean", "Qabf_clean",
         "fault_contrast", "leakage_mean", "leakage_share", "removed_energy", "band_6db_out_low_hz",
         "band_6db_out_high_hz", "seconds"]
#: Columns where lower is better (no star for the largest).
LOWER_IS_BETTER = {"seconds", "leakage_mean", "leakage_share"}
#: Metrics the verdict is about: against the clean reference when there is one, else edge transfer.
VERDICT_CLEAN = ["SSIM_clean", "PSNR_clean", "Qabf_clean", "fault_contrast"]
INPUT_ROW = "input (raw)"
CLASSICAL_SUFFIX = " (tuned)"
EDGE_ROW = "(edge branch)"


@dataclass
class Evaluation:
    """Mean metrics per row over the sampled sections: the fused files, the input, the edge branch."""

    input: str
    axis: str
    sections: list[int]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    spectra: dict[str, list[float]] = field(default_factory=dict)  # without a clean volume: "hz", then one per row

    @property
    def fused_names(self) -> list[str]:
        """The rows of fused files, in the order given."""
        return [k for k in self.rows if k not in (INPUT_ROW, EDGE_ROW) and not k.endswith(CLASSICAL_SUFFIX)]

    @property
    def classical_names(self) -> list[str]:
        """The rows of the classical denoisers run here."""
        return [k for k in self.rows if k.endswith(CLASSICAL_SUFFIX)]

    def as_dict(self) -> dict:
        """Plain data for JSON (inf and nan as strings)."""
        def clean(d: dict[str, float]) -> dict[str, float | str]:
            return {k: (v if math.isfinite(v) else str(v)) for k, v in d.items()}

        return {"input": self.input, "axis": self.axis, "sections": self.sections,
                "results": {k: clean(v) for k, v in self.rows.items() if k in self.fused_names},
                "spectra": self.spectra,
                "classical": {k: clean(v) for k, v in self.rows.items() if k in self.classical_names},
                "references": {k: clean(v) for k, v in self.rows.items() if k in (INPUT_ROW, EDGE_ROW)},
                "verdict": self.verdict(), "higher_is_better": {**SUITE, **REFERENCE},
                "conventions": "images in [0, 1] with the input's clip; MI in bits; Qabf as VIFB metricsQabf.m "
                               "(0-255 scale); VIF torchmetrics pixel VIF on 0-255, summed over sources; "
                               "SNR_clean = 10 log10(|clean|^2 / |clean - fused|^2) in amplitude"}

    @property
    def has_reference(self) -> bool:
        """True when a clean volume was given: the rows are judged against it."""
        return any("SSIM_clean" in r for r in self.rows.values())

    def verdict(self) -> list[str]:
        """One line per key metric against the clean reference: does the first fused file beat every other row, the
        input included? Without a reference there is no verdict (the input would win every similarity to itself)."""
        if not self.fused_names or not self.has_reference:
            return []
        model = self.fused_names[0]
        metrics = VERDICT_CLEAN
        lines = []
        for m in metrics:
            value = self.rows[model].get(m, math.nan)
            if not math.isfinite(value):
                continue
            others = {k: r[m] for k, r in self.rows.items() if k != model and m in r and math.isfinite(r[m])}
            if not others:
                continue
            lower = m in LOWER_IS_BETTER
            best = (min if lower else max)(others, key=others.get)
            word = "beats" if (value < others[best] if lower else value > others[best]) else "does NOT beat"
            lines.append(f"{model} {m} {value:.4f} {word} every other row (best: {best} {others[best]:.4f})")
        return lines

    def field_summary(self) -> list[str]:
        """Without a reference: the reference-free checks of each denoised row, one line each (no verdict)."""
        if self.has_reference:
            return []
        lines = ["no clean reference: no verdict. Reference-free checks (Chen & Fomel 2015): leakage = local similarity "
                 "of removed noise and output (lower is better at a similar removed energy); band kept at -6 dB"]
        for name in [*self.fused_names, *self.classical_names]:
            r = self.rows[name]
            lines.append(f"  {name}: leakage {r.get('leakage_mean', math.nan):.3f} (share above 0.3: "
                         f"{r.get('leakage_share', math.nan):.3f}), removed energy {r.get('removed_energy', math.nan):.3f}"
                         f", band {r.get('band_6db_out_low_hz', math.nan):.0f}-{r.get('band_6db_out_high_hz', math.nan):.0f}"
                         f" Hz (input {r.get('band_6db_in_low_hz', math.nan):.0f}-"
                         f"{r.get('band_6db_in_high_hz', math.nan):.0f} Hz)")
        return lines

    def table(self) -> str:
        """Fixed-width text table, one row per fused file, then the input and the edge branch (* best)."""
        cols = [c for c in TABLE if any(c in r for r in self.rows.values())]
        name_w = max(12, *(len(k) for k in self.rows))
        lines = [f"{'':<{name_w}} " + " ".join(f"{c:>11}" for c in cols)]
        best = {c: max((r[c] for r in self.rows.values() if c in r and math.isfinite(r[c])), default=None)
                for c in cols if c not in LOWER_IS_BETTER and not c.startswith("band_") and c != "removed_energy"}
        for name, r in self.rows.items():
            cells = []
            for c in cols:
                v = r.get(c, math.nan)
                mark = "*" if len(self.rows) > 1 and best.get(c) is not None and v == best[c] else " "
                cells.append(f"{v:>10.4f}{mark}")
            lines.append(f"{name:<{name_w}} " + " ".join(cells))
        return "\n".join(lines)


def sample_sections(volume: GridVolume, axis: str, n: int) -> list[int]:
    """n section indices spread evenly along an axis (all of them if there are fewer)."""
    total = volume.n_sections(axis)
    return sorted({int(round(x)) for x in np.linspace(0, total - 1, num=min(n, total))})


#: The classical rows `evaluate` scores by default: the denoisers that take well under a second per section.
FAST_CLASSICAL = ("gaussian", "median", "bilateral", "fxdecon")


def classical_names(spec: str) -> list[str]:
    """Denoiser names from 'fast' (the cheap ones), 'all' (every installed one, BM3D too), 'none' or a list."""
    if spec == "none":
        return []
    if spec == "fast":
        return list(FAST_CLASSICAL)
    if spec == "all":
        return [n for n, info in denoisers.DENOISERS.items() if info.available()]
    names = [n.strip() for n in spec.split(",") if n.strip()]
    for n in names:
        denoisers.get(n)
    return names


def evaluate(input_path: str, fused_paths: list[str], settings: BranchSettings, *, clean_path: str | None = None,
             fault_mask_path: str | None = None, axis: str = "inline", n_sections: int = 8,
             header_bytes: HeaderBytes | None = None, classical: Sequence[str] = (), progress: bool = False) -> Evaluation:
    """Metrics of each fused volume, the classical denoisers, the input and its edge branch over sampled sections."""
    if n_sections < 1:
        raise SettingError("sections", f"must be >= 1, got {n_sections}")
    source = open_volume(input_path, header_bytes)
    branches = Branches.of_volume(settings, source)
    methods = {f"{name}{CLASSICAL_SUFFIX}": denoisers.create_denoiser(name) for name in classical}
    others = {}
    for p in fused_paths + [p for p in (clean_path, fault_mask_path) if p]:
        vol = open_volume(p, source.geometry.header_bytes or header_bytes)
        check_same_geometry(source, vol)
        others[p] = vol
    if axis not in source.axes:
        axis = source.axes[0]
    picks = sample_sections(source, axis, n_sections)
    names = [Path(p).name for p in fused_paths]
    scores: dict[str, dict[str, list[float]]] = {n: {} for n in [*names, *methods, INPUT_ROW, EDGE_ROW]}
    spectra: dict[str, list[np.ndarray]] = {}
    bar = Progress(len(picks) * len(scores), f"evaluate {Path(input_path).name}", unit="row", enabled=progress)
    for k in picks:
        raw, edge = branches.pair(source.section(axis, k))
        clean = clean_edge = mask = None
        if clean_path:
            clean, clean_edge = branches.pair(others[clean_path].section(axis, k))
        if fault_mask_path:
            mask = others[fault_mask_path].section(axis, k)
        images = {n: branches.normalizer.forward(others[p].section(axis, k)) for n, p in zip(names, fused_paths, strict=True)}
        for name, denoise in methods.items():
            t0 = time.perf_counter()
            images[name] = denoise(raw)
            scores[name].setdefault("seconds", []).append(time.perf_counter() - t0)
        images.update({INPUT_ROW: raw, EDGE_ROW: edge})
        for name, img in images.items():
            metrics = fusion_metrics(img, raw, edge, clean, mask, clean_edge)
            if clean is None and name != EDGE_ROW:  # no reference: the field checks (leakage, energy, bandwidth)
                metrics.update(field_qc(raw - 0.5, img - 0.5, source.dt_ms).as_dict() if name != INPUT_ROW else {})
                hz, spectrum = amplitude_spectrum(img - 0.5, source.dt_ms)
                spectra.setdefault("hz", [hz])
                spectra.setdefault(name, []).append(spectrum)
            for m, v in metrics.items():
                scores[name].setdefault(m, []).append(v)
            bar.update()
    bar.close()
    for vol in others.values():
        vol.close()
    source.close()
    return Evaluation(str(input_path), axis, picks,
                      {n: {m: float(np.mean(v)) for m, v in d.items()} for n, d in scores.items()},
                      {n: [float(x) for x in np.mean(v, axis=0)] for n, v in spectra.items()})
