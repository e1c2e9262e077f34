"""Seismic noise kinds, scaled to a ratio of the signal RMS: white, band-limited, laterally correlated, bursts.

Arrays are traces with time on the last axis: a section as (traces, samples), a volume
as (inlines, crosslines, samples), the layout of SEG-Y traces. Every generator returns
noise of unit RMS; :func:`add_noise` scales it to `ratio` times the RMS of the signal
(noise RMS / signal RMS, so SNR = 1 / ratio) and adds it. The kinds are a registry
(:data:`NOISE_KINDS`, built by :func:`make_noise`, as the edge ops and denoisers are): a new
noise model is one generator and one entry here, and every command, config and benchmark
that names noise kinds accepts it.

* ``white``: independent Gaussian samples.
* ``band``: white noise band-passed in time (zero-phase Butterworth, default 10-40 Hz),
  the semi-real protocol's second kind: it overlaps the signal band.
* ``lateral``: band-passed noise smoothed across traces (Gaussian, a few traces), i.e.
  streaks that look like weak, short reflectors.
* ``bursts``: a few traces with bursts of strong noise, plus isolated spikes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import butter, sosfiltfilt

DEFAULT_BAND_HZ = (10.0, 40.0)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    """x scaled to RMS 1 (unchanged when all zero)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return (x / rms if rms > 0 else x).astype(np.float32)


def bandpass(x: np.ndarray, dt_ms: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass along the last (time) axis."""
    nyquist = 500.0 / dt_ms
    lo, hi = band_hz
    if not 0 < lo < hi:
        raise ValueError(f"noise band must satisfy 0 < low < high, got {lo:g}-{hi:g} Hz")
    hi = min(hi, 0.95 * nyquist)
    if lo >= hi:
        raise ValueError(f"noise band {band_hz[0]:g}-{band_hz[1]:g} Hz lies above the Nyquist frequency {nyquist:g} Hz")
    sos = butter(4, [lo, hi], btype="bandpass", fs=1000.0 / dt_ms, output="sos")
    padlen = min(x.shape[-1] - 1, 3 * (2 * len(sos) + 1))
    return sosfiltfilt(sos, x, axis=-1, padlen=padlen).astype(np.float32)


def resample_time(x: np.ndarray, dt_ms: float, new_dt_ms: float, axis: int = -1) -> np.ndarray:
    """x sampled at dt_ms resampled to new_dt_ms along its time axis (polyphase, anti-aliased), float32: the
    semi-real protocol's oversampled copies of a real line."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(dt_ms / new_dt_ms).limit_denominator(16)
    return resample_poly(x, ratio.numerator, ratio.denominator, axis=axis).astype(np.float32)


def white(shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Independent Gaussian noise, unit RMS."""
    return _unit_rms(rng.standard_normal(tuple(shape), dtype=np.float32))


def band_limited(shape: Sequence[int], rng: np.random.Generator, dt_ms: float,
                 band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> np.ndarray:
    """Gaussian noise band-passed in time, unit RMS."""
    return _unit_rms(bandpass(rng.standard_normal(tuple(shape), dtype=np.float32), dt_ms, band_hz))


def lateral(shape: Sequence[int], rng: np.random.Generator, dt_ms: float,
            band_hz: tuple[float, float] = DEFAULT_BAND_HZ, sigma_traces: float = 2.0) -> np.ndarray:
    """Band-passed noise smoothed across traces (every axis but time), unit RMS."""
    x = bandpass(rng.standard_normal(tuple(shape), dtype=np.float32), dt_ms, band_hz)
    for axis in range(x.ndim - 1):
        if x.shape[axis] > 1:
            x = gaussian_filter1d(x, sigma_traces, axis=axis, mode="reflect")
    return _unit_rms(x)


def bursts(shape: Sequence[int], rng: np.random.Generator, trace_fraction: float = 0.03,
           spike_fraction: float = 2e-4) -> np.ndarray:
    """Strong noise bursts on a few traces plus isolated spikes, unit RMS."""
    shape = tuple(shape)
    x = np.zeros(shape, dtype=np.float32)
    traces = x.reshape(-1, shape[-1])
    n_samples = shape[-1]
    hit = np.flatnonzero(rng.random(len(traces)) < trace_fraction)
    if len(hit) == 0:
        hit = rng.integers(0, len(traces), size=1)
    for t in hit:
        length = int(rng.integers(max(2, n_samples // 16), max(3, n_samples // 3) + 1))
        start = int(rng.integers(0, max(1, n_samples - length + 1)))
        taper = np.hanning(length + 2)[1:-1].astype(np.float32)
        traces[t, start:start + length] += rng.standard_normal(length, dtype=np.float32) * taper
    spikes = rng.random(traces.shape) < spike_fraction
    traces[spikes] += rng.choice([-1.0, 1.0], size=int(spikes.sum())).astype(np.float32) * 3.0
    return _unit_rms(x)


@dataclass(frozen=True)
class NoiseKind:
    """A registered noise kind: its generator f(shape, rng, dt_ms, band_hz, sigma_traces) -> unit-RMS noise."""

    name: str
    make: Callable[[Sequence[int], np.random.Generator, float, tuple[float, float], float], np.ndarray]
    summary: str


#: The registry of noise kinds, by name.
NOISE_KINDS: dict[str, NoiseKind] = {k.name: k for k in (
    NoiseKind("white", lambda shape, rng, dt, band, sig: white(shape, rng), "independent Gaussian samples"),
    NoiseKind("band", lambda shape, rng, dt, band, sig: band_limited(shape, rng, dt, band),
              "white noise band-passed in time (default 10-40 Hz)"),
    NoiseKind("lateral", lambda shape, rng, dt, band, sig: lateral(shape, rng, dt, band, sig),
              "band-passed noise smoothed across traces: streaks like weak reflectors"),
    NoiseKind("bursts", lambda shape, rng, dt, band, sig: bursts(shape, rng), "bursts on a few traces, and spikes"),
)}
#: Their names (configs, commands).
KINDS = tuple(NOISE_KINDS)


def make_noise(kind: str, shape: Sequence[int], rng: np.random.Generator, dt_ms: float,
               band_hz: tuple[float, float] = DEFAULT_BAND_HZ, sigma_traces: float = 2.0) -> np.ndarray:
    """Unit-RMS noise of one registered kind."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; valid: {', '.join(NOISE_KINDS)}")
    return NOISE_KINDS[kind].make(shape, rng, dt_ms, band_hz, sigma_traces)


def signal_rms(x: np.ndarray) -> float:
    """RMS of the non-zero samples (dead traces and mutes do not dilute it)."""
    live = np.asarray(x)[np.asarray(x) != 0]
    return float(np.sqrt(np.mean(np.square(live, dtype=np.float64)))) if live.size else 0.0


def add_noise(signal: np.ndarray, kind: str, ratio: float, rng: np.random.Generator, dt_ms: float,
              band_hz: tuple[float, float] = DEFAULT_BAND_HZ, sigma_traces: float = 2.0) -> np.ndarray:
    """signal + noise of one kind at `ratio` x the signal RMS (float32; dead traces stay dead)."""
    if ratio < 0:
        raise ValueError(f"noise ratio must be >= 0, got {ratio}")
    signal = np.asarray(signal, dtype=np.float32)
    noise = make_noise(kind, signal.shape, rng, dt_ms, band_hz, sigma_traces)
    out = signal + noise * np.float32(ratio * signal_rms(signal))
    dead = ~np.any(signal != 0, axis=-1)
    out[dead] = 0.0
    return out
