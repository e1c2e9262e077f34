"""Scoring fused volumes: fusion metrics over a sample of sections, one row per fused file.

Every volume is mapped to [0, 1] with the *input's* normalization (the same clip), so a
fused file is judged in the units it was written in and nothing is re-stretched. The
edge branch is made from the input with the config's pipeline (or the default). With a
clean (noise-free) volume and a fault mask, as `seisfuse synth` writes, the reference
metrics (SSIM and PSNR to the clean section, fault contrast) are added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seisfuse.branches import Branches, BranchSettings
from seisfuse.metrics import REFERENCE, SUITE, fusion_metrics
from seisfuse.normalize import fit_normalizer
from seisfuse.segy import HeaderBytes, Volume, check_same_geometry, open_volume

#: Columns of the printed table (all metrics go to JSON).
TABLE = ["Qabf", "MI", "EN", "SD", "SF", "AG", "SCD", "SSIM_raw", "SSIM_edge", "SSIM_clean", "PSNR_clean",
         "fault_contrast"]


@dataclass
class Evaluation:
    """Mean metrics per fused file over the sampled sections, plus the raw and edge branches as references."""

    input: str
    axis: str
    sections: list[int]
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    references: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain data for JSON (inf and nan as strings)."""
        def clean(d: dict[str, float]) -> dict[str, float | str]:
            return {k: (v if math.isfinite(v) else str(v)) for k, v in d.items()}

        return {"input": self.input, "axis": self.axis, "sections": self.sections,
                "results": {k: clean(v) for k, v in self.rows.items()},
                "references": {k: clean(v) for k, v in self.references.items()},
                "higher_is_better": {**SUITE, **REFERENCE}}

    def table(self) -> str:
        """Fixed-width text table: one row per fused file, references below."""
        rows = {**self.rows, **{f"({k})": v for k, v in self.references.items()}}
        cols = [c for c in TABLE if any(c in r for r in rows.values())]
        name_w = max(12, *(len(k) for k in rows))
        lines = [f"{'':<{name_w}} " + " ".join(f"{c:>10}" for c in cols)]
        best = {c: max((r[c] for k, r in self.rows.items() if c in r and math.isfinite(r[c])), default=None)
                for c in cols}
        for name, r in rows.items():
            cells = []
            for c in cols:
                v = r.get(c, math.nan)
                mark = "*" if name in self.rows and len(self.rows) > 1 and best[c] is not None and v == best[c] else " "
                cells.append(f"{v:>9.4f}{mark}")
            lines.append(f"{name:<{name_w}} " + " ".join(cells))
        return "\n".join(lines)


def sample_sections(volume: Volume, axis: str, n: int) -> list[int]:
    """n section indices spread evenly along an axis (all of them if there are fewer)."""
    total = volume.n_sections(axis)
    return sorted({int(round(x)) for x in np.linspace(0, total - 1, num=min(n, total))})


def evaluate(input_path: str, fused_paths: list[str], settings: BranchSettings, *, clean_path: str | None = None,
             fault_mask_path: str | None = None, axis: str = "inline", n_sections: int = 8,
             header_bytes: HeaderBytes | None = None) -> Evaluation:
    """Metrics of each fused volume against the input's raw and edge branches over sampled sections."""
    source = open_volume(input_path, header_bytes)
    norm = fit_normalizer(source, settings.clip_percentile)
    branches = Branches(settings, norm)
    others = {}
    for p in fused_paths + [p for p in (clean_path, fault_mask_path) if p]:
        vol = open_volume(p, source.geometry.header_bytes or header_bytes)
        check_same_geometry(source, vol)
        others[p] = vol
    if axis not in source.axes:
        axis = source.axes[0]
    picks = sample_sections(source, axis, n_sections)
    names = [Path(p).name for p in fused_paths]
    sums: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    refs: dict[str, dict[str, list[float]]] = {"raw": {}, "edge branch": {}}
    for k in picks:
        raw, edge = branches.pair(source.section(axis, k))
        clean = norm.forward(others[clean_path].section(axis, k)) if clean_path else None
        mask = others[fault_mask_path].section(axis, k) if fault_mask_path else None
        for name, p in zip(names, fused_paths, strict=True):
            scores = fusion_metrics(norm.forward(others[p].section(axis, k)), raw, edge, clean, mask)
            for m, v in scores.items():
                sums[name].setdefault(m, []).append(v)
        for name, img in (("raw", raw), ("edge branch", edge)):
            for m, v in fusion_metrics(img, raw, edge, clean, mask).items():
                refs[name].setdefault(m, []).append(v)
    for vol in others.values():
        vol.close()
    source.close()

    def mean(d: dict[str, list[float]]) -> dict[str, float]:
        return {m: float(np.mean(v)) for m, v in d.items()}

    return Evaluation(str(input_path), axis, picks, {n: mean(v) for n, v in sums.items()},
                      {n: mean(v) for n, v in refs.items()})
