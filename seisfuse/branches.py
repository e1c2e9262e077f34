"""The (raw, edge) pair the network fuses: its settings, and building it for a section or a patch.

The raw branch is a section normalized by the volume's robust clip (`normalize.py`);
the edge branch is the edge pipeline applied to the raw branch. Training patches,
inference sections, evaluation and pictures all build the pair here, so the edge
branch at inference is computed exactly as in training. The settings travel inside
checkpoints as a plain mapping (:meth:`BranchSettings.to_dict`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from seisfuse.edges import DEFAULT_PIPELINE, EdgeOpError, EdgePipeline
from seisfuse.normalize import DEFAULT_PERCENTILE, Normalizer, normalizer_from_traces
from seisfuse.segy.grid import DEFAULT_SAMPLE_TRACES, GridVolume

#: Reads raw amplitudes of rows ya:yb, columns xa:xb of one section: (ya, yb, xa, xb) -> (yb - ya, xb - xa).
WindowReader = Callable[[int, int, int, int], np.ndarray]


@dataclass(frozen=True)
class BranchSettings:
    """How the (raw, edge) pair is made: the edge pipeline and the normalization clip percentile."""

    edges: list[dict[str, Any]] = field(default_factory=lambda: [dict(op) for op in DEFAULT_PIPELINE])
    clip_percentile: float = DEFAULT_PERCENTILE

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", [dict(op) if isinstance(op, Mapping) else op for op in self.edges])
        object.__setattr__(self, "clip_percentile", float(self.clip_percentile))
        if not 50.0 <= self.clip_percentile <= 100.0:
            raise ValueError(f"clip_percentile must be in [50, 100], got {self.clip_percentile}")
        try:
            self.pipeline  # noqa: B018 - validate the ops now, not at inference
        except EdgeOpError as exc:
            raise ValueError(f"edges: {exc}") from None

    @cached_property
    def pipeline(self) -> EdgePipeline:
        """The edge pipeline these settings describe."""
        return EdgePipeline.from_config(self.edges)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as stored in checkpoints."""
        return {"edges": [dict(op) for op in self.edges], "clip_percentile": self.clip_percentile}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BranchSettings:
        """Settings from their plain-data form."""
        return cls(edges=list(d["edges"]), clip_percentile=float(d["clip_percentile"]))


def fit_normalizer(volume: GridVolume, percentile: float = DEFAULT_PERCENTILE, n_traces: int = DEFAULT_SAMPLE_TRACES,
                   seed: int = 0) -> Normalizer:
    """The normalizer of a volume: its clip from a reproducible sample of its live traces."""
    return normalizer_from_traces(volume.sample_traces(n_traces, seed), volume.path, percentile)


@dataclass(frozen=True)
class Branches:
    """Makes the (raw, edge) pairs of one volume: its normalizer and the edge pipeline."""

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
