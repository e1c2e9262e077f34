"""Robust per-volume amplitude statistics and the invertible map of amplitudes to [0, 1].

Seismic amplitudes are signed and their scale differs between files by many orders of
magnitude, so nothing here assumes a range. A volume is normalized by a symmetric clip
at a percentile of |amplitude| (estimated from a random sample of live traces, which the
caller reads: this module takes arrays, never files), then
mapped linearly so that -clip -> 0, 0 -> 0.5 and +clip -> 1. The inverse is exact for
amplitudes inside the clip. Non-finite samples are treated as dead (amplitude 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from seisfuse.errors import file_error

DEFAULT_PERCENTILE = 99.5


def sanitize(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace NaN and Inf samples by 0 (in place when x is float32) and count them."""
    x = np.asarray(x, dtype=np.float32)
    bad = ~np.isfinite(x)
    n = int(bad.sum())
    if n:
        x[bad] = 0.0
    return x, n


def dead_traces(section: np.ndarray) -> np.ndarray:
    """Which traces (columns) of a (samples, traces) section hold no finite non-zero sample: they stay zero."""
    return ~np.any(np.isfinite(section) & (section != 0), axis=0)


@dataclass
class AmplitudeStats:
    """Amplitude statistics of a random sample of live traces."""

    traces_sampled: int
    dead_in_sample: int
    nonfinite: int
    minimum: float
    maximum: float
    mean: float
    std: float
    rms: float
    abs_percentiles: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain dict for JSON and printing."""
        return asdict(self)


def stats_of_traces(traces: np.ndarray, path: object,
                    percentiles: tuple[float, ...] = (50.0, 99.0, DEFAULT_PERCENTILE, 99.9)) -> AmplitudeStats:
    """Statistics of a sample of traces (rows); path names the file in errors."""
    traces, nonfinite = sanitize(traces)
    alive = np.any(traces != 0, axis=1)
    data = traces[alive].astype(np.float64)
    if data.size == 0:
        if nonfinite and nonfinite == traces.size:
            raise file_error(path, f"all {len(traces)} sampled traces hold only NaN or Inf; nothing to normalize")
        raise file_error(path, f"all {len(traces)} sampled traces are zero (dead); nothing to normalize")
    mags = np.abs(data)
    return AmplitudeStats(
        traces_sampled=len(traces),
        dead_in_sample=int((~alive).sum()),
        nonfinite=nonfinite,
        minimum=float(data.min()),
        maximum=float(data.max()),
        mean=float(data.mean()),
        std=float(data.std()),
        rms=float(np.sqrt(np.mean(data * data))),
        abs_percentiles={f"p{p:g}": float(np.percentile(mags, p)) for p in percentiles},
    )


@dataclass
class Normalizer:
    """Symmetric clip at `clip` and linear map to [0, 1] with zero amplitude at 0.5."""

    clip: float
    percentile: float = DEFAULT_PERCENTILE

    def __post_init__(self) -> None:
        if not np.isfinite(self.clip) or self.clip <= 0:
            raise ValueError(f"clip must be a positive finite amplitude, got {self.clip}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Amplitudes -> [0, 1] float32; non-finite samples become 0.5 (amplitude 0)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.clip(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0), -self.clip, self.clip)
        return (y * (0.5 / self.clip) + 0.5).astype(np.float32)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """[0, 1] -> amplitudes in the units of the volume, float32."""
        y = np.asarray(y, dtype=np.float64)
        return ((y - 0.5) * (2.0 * self.clip)).astype(np.float32)

    def to_dict(self) -> dict:
        """Settings as plain data (stored in checkpoints and JSON)."""
        return {"clip": float(self.clip), "percentile": float(self.percentile)}


def jittered_normalizer(section: np.ndarray, percentile: float, jitter: float,
                        rng: np.random.Generator) -> Normalizer:
    """A synthetic section's Normalizer: its own clip (percentile of its nonzero |amplitudes|) times a log-normal
    factor of spread `jitter` drawn from rng, so training meets clips a little off the section's own."""
    live = np.abs(section[section != 0])
    clip = float(np.percentile(live, percentile)) if live.size else 1.0
    clip *= float(np.exp(rng.normal(0.0, jitter)))
    return Normalizer(max(clip, 1e-12), percentile)


def normalizer_from_traces(traces: np.ndarray, path: object, percentile: float = DEFAULT_PERCENTILE) -> Normalizer:
    """The Normalizer of a volume from a sample of its traces (rows; `GridVolume.sample_traces`); path names it."""
    if not 50.0 <= percentile <= 100.0:
        raise ValueError(f"clip percentile must be in [50, 100], got {percentile}")
    stats = stats_of_traces(traces, path, percentiles=(percentile, 100.0))
    if stats.minimum == stats.maximum:
        raise file_error(path, f"all sampled amplitudes equal {stats.minimum:g}; cannot normalize a constant volume")
    clip = stats.abs_percentiles[f"p{percentile:g}"]
    if clip <= 0:  # more than (100 - percentile)% of samples are zero: fall back to the largest amplitude
        clip = stats.abs_percentiles["p100"]
    return Normalizer(clip=float(clip), percentile=percentile)
