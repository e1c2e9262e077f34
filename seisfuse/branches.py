"""The branches the network fuses: their list and settings, and building them for a section or a patch.

A branch is an estimate of the section that carries part of the truth: the **raw** section
normalized by the volume's robust clip (`normalize.py`), the **edge** branch (the edge pipeline
applied to the raw branch), or the output of any registered classical denoiser of the raw
branch (`seisfuse.denoisers`: ``bm3d``, ``bm3d-psd``, ``bm3d-so``, ``fxdecon``, ...), each of which
fails where its own noise model is wrong. ``raw`` always comes first: the network estimates the
noise level from it. Training patches, inference sections, evaluation and pictures all build
the branches here, so a branch at inference is computed exactly as in training; the settings
travel inside checkpoints as a plain mapping (:meth:`BranchSettings.to_dict`).

Raw and edge are cheap and local (a patch plus the pipeline's halo gives the whole section's
values). Denoiser branches are neither (BM3D takes seconds per section and looks far): they
are computed on whole sections only, and training reads them from a cache of whole sections
(`seisfuse.data.pool`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from seisfuse.edges import DEFAULT_PIPELINE, EdgeOpError, EdgePipeline
from seisfuse.normalize import DEFAULT_PERCENTILE, Normalizer, normalizer_from_traces
from seisfuse.segy.grid import DEFAULT_SAMPLE_TRACES, GridVolume

#: Reads raw amplitudes of rows ya:yb, columns xa:xb of one section: (ya, yb, xa, xb) -> (yb - ya, xb - xa).
WindowReader = Callable[[int, int, int, int], np.ndarray]
RAW, EDGE = "raw", "edge"
#: The branches of the fast model (and of every model trained before branch lists existed).
DEFAULT_BRANCHES: tuple[str, ...] = (RAW, EDGE)


def check_branch_names(names: Sequence[str]) -> tuple[str, ...]:
    """The branch names as a tuple, or a ValueError: raw first, no repeats, each raw, edge or a registered denoiser."""
    from seisfuse import denoisers

    names = tuple(str(n) for n in names)
    if not names or names[0] != RAW:
        raise ValueError(f"branches: must start with {RAW!r} (the noise level is estimated from it), got {list(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"branches: must not repeat, got {list(names)}")
    valid = (RAW, EDGE, *denoisers.names())
    for name in names:
        if name not in valid:
            raise ValueError(f"branches: unknown branch {name!r}; valid: {', '.join(valid)}")
    return names


@dataclass(frozen=True)
class BranchSettings:
    """How the branches are made: their names, the edge pipeline and the normalization clip percentile."""

    edges: list[dict[str, Any]] = field(default_factory=lambda: [dict(op) for op in DEFAULT_PIPELINE])
    clip_percentile: float = DEFAULT_PERCENTILE
    branches: tuple[str, ...] = DEFAULT_BRANCHES

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", [dict(op) if isinstance(op, Mapping) else op for op in self.edges])
        object.__setattr__(self, "clip_percentile", float(self.clip_percentile))
        object.__setattr__(self, "branches", check_branch_names(self.branches))
        if not 50.0 <= self.clip_percentile <= 100.0:
            raise ValueError(f"clip_percentile: must be in [50, 100], got {self.clip_percentile}")
        try:
            self.pipeline  # noqa: B018 - validate the ops now, not at inference
        except EdgeOpError as exc:
            raise ValueError(f"edges: {exc}") from None

    @cached_property
    def pipeline(self) -> EdgePipeline:
        """The edge pipeline these settings describe."""
        return EdgePipeline.from_config(self.edges)

    @property
    def denoisers(self) -> tuple[str, ...]:
        """The branches made by classical denoisers (everything but raw and edge)."""
        return tuple(b for b in self.branches if b not in (RAW, EDGE))

    @property
    def local(self) -> bool:
        """True when every branch can be computed on a patch plus a halo (raw and edge only)."""
        return not self.denoisers

    def describe(self) -> str:
        """One line: the branch names and the edge pipeline."""
        return f"branches {', '.join(self.branches)}; edges {self.pipeline.describe()}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as stored in checkpoints."""
        return {"edges": [dict(op) for op in self.edges], "clip_percentile": self.clip_percentile,
                "branches": list(self.branches)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BranchSettings:
        """Settings from their plain-data form (unknown keys refused; without 'branches': raw and edge)."""
        from seisfuse.config import from_mapping

        d = dict(d)
        if "branches" in d:
            d["branches"] = tuple(d["branches"])
        return from_mapping(cls, d, "branches")


def fit_normalizer(volume: GridVolume, percentile: float = DEFAULT_PERCENTILE, n_traces: int = DEFAULT_SAMPLE_TRACES,
                   seed: int = 0) -> Normalizer:
    """The normalizer of a volume: its clip from a reproducible sample of its live traces."""
    return normalizer_from_traces(volume.sample_traces(n_traces, seed), volume.path, percentile)


def denoise_branches(raw: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Each named denoiser (tuned parameters) applied to a normalized raw section: float32 images in [0, 1]."""
    from seisfuse import denoisers

    return {name: np.asarray(denoisers.create_denoiser(name)(raw), dtype=np.float32) for name in names}


def stack_branches(names: Sequence[str], images: Mapping[str, np.ndarray]) -> np.ndarray:
    """The named images stacked in branch order: (N, H, W) float32."""
    return np.stack([np.asarray(images[n], dtype=np.float32) for n in names])


@dataclass(frozen=True)
class Branches:
    """Makes the branches of one volume's sections: the settings and the volume's normalizer."""

    settings: BranchSettings
    normalizer: Normalizer

    @property
    def pipeline(self) -> EdgePipeline:
        """The edge pipeline."""
        return self.settings.pipeline

    @classmethod
    def of_volume(cls, settings: BranchSettings, volume: GridVolume) -> Branches:
        """The branches of a volume: these settings, its own normalizer."""
        return cls(settings, fit_normalizer(volume, settings.clip_percentile))

    def pair(self, section: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw, edge) in [0, 1] of a whole section of amplitudes."""
        raw = self.normalizer.forward(section)
        return raw, self.pipeline(raw)

    def images(self, section: np.ndarray) -> dict[str, np.ndarray]:
        """Every branch (and the edge branch, which the losses use) of a whole section of amplitudes, by name."""
        raw, edge = self.pair(section)
        return {RAW: raw, EDGE: edge, **denoise_branches(raw, self.settings.denoisers)}

    def stack(self, section: np.ndarray) -> np.ndarray:
        """The branches of a whole section of amplitudes, (N, H, W) in [0, 1], in the settings' order."""
        return stack_branches(self.settings.branches, self.images(section))

    def window_in_region(self, read: WindowReader, shape: tuple[int, int], y0: int, y1: int, x0: int,
                         x1: int) -> tuple[np.ndarray, tuple[int, int]]:
        """The normalized window the region [y0:y1, x0:x1] needs (the region plus the halo) and its origin."""
        ya, yb, xa, xb = self.pipeline.region_bounds(shape, y0, y1, x0, x1)
        return self.normalizer.forward(read(ya, yb, xa, xb)), (ya, xa)

    def pair_of_window(self, window: np.ndarray, origin: tuple[int, int], y0: int, y1: int, x0: int,
                       x1: int) -> tuple[np.ndarray, np.ndarray]:
        """(raw, edge) of the region from a normalized window of window_in_region (perhaps masked first)."""
        edge = self.pipeline.apply_window(window, origin, y0, y1, x0, x1)
        return EdgePipeline.crop_window(window, origin, y0, y1, x0, x1), edge
