"""Scoring fused volumes: metric tables over a sample of sections, the input itself always a row.

Every volume is mapped to [0, 1] with the *input's* normalization (the same clip), so a
fused file is judged in the units it was written in and nothing is re-stretched. The
edge branch is made from the input with the given branch settings. With a clean
(noise-free) volume and a fault mask, as `seisfuse synth` writes, the reference metrics
are added (SSIM, PSNR, SNR and VIF to the clean section, Qabf_clean from the clean section
and its edge branch, fault contrast). The input (raw) is scored as a row like any fused
file, and the verdict compares the first fused file with every other row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seisfuse.branches import Branches, BranchSettings
from seisfuse.metrics import REFERENCE, SUITE, fusion_metrics
from seisfuse.normalize import fit_normalizer
from seisfuse.segy import GridVolume, HeaderBytes, check_same_geometry, open_volume

#: Columns of the printed table (all metrics go to JSON).
TABLE = ["Qabf", "MI", "EN", "SD", "SF", "VIF", "SSIM_raw", "SSIM_clean", "PSNR_clean", "SNR_clean", "Qabf_clean",
         "fault_contrast"]
#: Metrics the verdict is about: against the clean reference when there is one, else edge transfer.
VERDICT_CLEAN = ["SSIM_clean", "PSNR_clean", "Qabf_clean", "fault_contrast"]
VERDICT_SOURCES = ["Qabf", "SSIM_raw"]
INPUT_ROW = "input (raw)"
EDGE_ROW = "(edge branch)"


@dataclass
class Evaluation:
    """Mean metrics per row over the sampled sections: the fused files, the input, the edge branch."""

    input: str
    axis: str
    sections: list[int]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def fused_names(self) -> list[str]:
        """The rows of fused files, in the order given."""
        return [k for k in self.rows if k not in (INPUT_ROW, EDGE_ROW)]

    def as_dict(self) -> dict:
        """Plain data for JSON (inf and nan as strings)."""
        def clean(d: dict[str, float]) -> dict[str, float | str]:
            return {k: (v if math.isfinite(v) else str(v)) for k, v in d.items()}

        return {"input": self.input, "axis": self.axis, "sections": self.sections,
                "results": {k: clean(v) for k, v in self.rows.items() if k in self.fused_names},
                "references": {k: clean(v) for k, v in self.rows.items() if k not in self.fused_names},
                "verdict": self.verdict(), "higher_is_better": {**SUITE, **REFERENCE},
                "conventions": "images in [0, 1] with the input's clip; MI in bits; Qabf as VIFB metricsQabf.m "
                               "(0-255 scale); VIF torchmetrics pixel VIF on 0-255, summed over sources; "
                               "SNR_clean = 10 log10(|clean|^2 / |clean - fused|^2) in amplitude"}

    def verdict(self) -> list[str]:
        """One line per key metric: does the first fused file beat every other row, the input included?"""
        if not self.fused_names:
            return []
        model = self.fused_names[0]
        metrics = VERDICT_CLEAN if "SSIM_clean" in self.rows[model] else VERDICT_SOURCES
        lines = []
        for m in metrics:
            value = self.rows[model].get(m, math.nan)
            if not math.isfinite(value):
                continue
            others = {k: r[m] for k, r in self.rows.items() if k != model and m in r and math.isfinite(r[m])}
            if not others:
                continue
            best = max(others, key=others.get)
            word = "beats" if value > others[best] else "does NOT beat"
            lines.append(f"{model} {m} {value:.4f} {word} every other row (best: {best} {others[best]:.4f})")
        return lines

    def table(self) -> str:
        """Fixed-width text table, one row per fused file, then the input and the edge branch (* best)."""
        cols = [c for c in TABLE if any(c in r for r in self.rows.values())]
        name_w = max(12, *(len(k) for k in self.rows))
        lines = [f"{'':<{name_w}} " + " ".join(f"{c:>11}" for c in cols)]
        best = {c: max((r[c] for r in self.rows.values() if c in r and math.isfinite(r[c])), default=None)
                for c in cols}
        for name, r in self.rows.items():
            cells = []
            for c in cols:
                v = r.get(c, math.nan)
                mark = "*" if len(self.rows) > 1 and best[c] is not None and v == best[c] else " "
                cells.append(f"{v:>10.4f}{mark}")
            lines.append(f"{name:<{name_w}} " + " ".join(cells))
        return "\n".join(lines)


def sample_sections(volume: GridVolume, axis: str, n: int) -> list[int]:
    """n section indices spread evenly along an axis (all of them if there are fewer)."""
    total = volume.n_sections(axis)
    return sorted({int(round(x)) for x in np.linspace(0, total - 1, num=min(n, total))})


def evaluate(input_path: str, fused_paths: list[str], settings: BranchSettings, *, clean_path: str | None = None,
             fault_mask_path: str | None = None, axis: str = "inline", n_sections: int = 8,
             header_bytes: HeaderBytes | None = None) -> Evaluation:
    """Metrics of each fused volume, the input and its edge branch over sampled sections."""
    source = open_volume(input_path, header_bytes)
    branches = Branches(settings, fit_normalizer(source, settings.clip_percentile))
    others = {}
    for p in fused_paths + [p for p in (clean_path, fault_mask_path) if p]:
        vol = open_volume(p, source.geometry.header_bytes or header_bytes)
        check_same_geometry(source, vol)
        others[p] = vol
    if axis not in source.axes:
        axis = source.axes[0]
    picks = sample_sections(source, axis, n_sections)
    names = [Path(p).name for p in fused_paths]
    scores: dict[str, dict[str, list[float]]] = {n: {} for n in [*names, INPUT_ROW, EDGE_ROW]}
    for k in picks:
        raw, edge = branches.pair(source.section(axis, k))
        clean = clean_edge = mask = None
        if clean_path:
            clean, clean_edge = branches.pair(others[clean_path].section(axis, k))
        if fault_mask_path:
            mask = others[fault_mask_path].section(axis, k)
        images = {n: branches.normalizer.forward(others[p].section(axis, k)) for n, p in zip(names, fused_paths, strict=True)}
        images.update({INPUT_ROW: raw, EDGE_ROW: edge})
        for name, img in images.items():
            for m, v in fusion_metrics(img, raw, edge, clean, mask, clean_edge).items():
                scores[name].setdefault(m, []).append(v)
    for vol in others.values():
        vol.close()
    source.close()
    return Evaluation(str(input_path), axis, picks,
                      {n: {m: float(np.mean(v)) for m, v in d.items()} for n, d in scores.items()})
