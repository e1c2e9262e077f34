"""Synthetic post-stack surveys: folded, faulted layered reflectivity convolved with a Ricker wavelet.

The recipe follows the synthetic training volumes of Wu et al. (2019), "FaultSeg3D",
Geophysics 84(3): a random 1D reflectivity is displaced by Gaussian-bump folding that
grows with depth plus a planar shear, cut by planar faults of random strike, dip and
throw, convolved with a (phase-rotated) Ricker wavelet and disturbed by noise of one or
more kinds (`seisfuse.synth.noise`). Bright spots (local amplitude boosts) give the "blocks"
that fusion must keep. A survey of one inline is a single 2D section whose faults cut
it at a visible dip; :class:`SynthRanges` draws the knobs of such sections at random,
for training on fresh synthetic data every epoch. Everything is deterministic by seed;
the clean volume and the fault mask can be written beside the noisy one with the same
geometry and headers.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter1d
from scipy.signal import hilbert

from seisfuse.synth import noise as noise_kinds

FIRST_INLINE = 100
FIRST_CROSSLINE = 300
BIN_SIZE_M = 25.0


@dataclass
class SynthConfig:
    """Knobs of the synthetic survey (sizes in traces and samples)."""

    inlines: int = 128
    crosslines: int = 128
    samples: int = 256
    dt_ms: float = 4.0
    freq_hz: float = 30.0  # Ricker dominant frequency
    phase_deg: float = 0.0  # constant phase rotation of the wavelet
    faults: int = 3
    max_throw: float = 14.0  # samples; each fault's throw is drawn from [min(4, max_throw), max_throw]
    noise: float = 0.3  # noise RMS / clean signal RMS (SNR = 1 / noise)
    noise_kind: str = "white"  # white | band | lateral | bursts, or several joined by '+'
    noise_band_hz: tuple[float, float] = noise_kinds.DEFAULT_BAND_HZ  # band of 'band' and 'lateral' noise
    lateral_sigma: float = 2.0  # traces of smoothing of 'lateral' noise
    fold_bumps: int = 6
    fold_amplitude: float = 10.0  # samples at the bottom of the volume
    shear: float = 0.08  # samples of dip per trace
    layer_thickness: float = 6.0  # mean layer thickness in samples
    texture: float = 0.0  # RMS of short, laterally varying reflectivity (lenses, chaotic facies) / the layers' RMS
    texture_length: float = 4.0  # lateral correlation length of the texture, in traces
    bright_spots: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("dt_ms", "freq_hz", "phase_deg", "max_throw", "noise", "lateral_sigma", "fold_amplitude", "shear",
                     "layer_thickness", "texture", "texture_length"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        for name in ("inlines", "crosslines", "samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.samples < 8:
            raise ValueError(f"samples must be >= 8, got {self.samples}")
        if self.faults < 0:
            raise ValueError(f"faults must be >= 0, got {self.faults}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if self.dt_ms <= 0 or self.freq_hz <= 0:
            raise ValueError("dt_ms and freq_hz must be positive")
        if self.freq_hz >= 500.0 / self.dt_ms:
            raise ValueError(f"freq_hz {self.freq_hz} is above the Nyquist frequency {500.0 / self.dt_ms:g} Hz")
        bad = [k for k in self.noise_kinds if k not in noise_kinds.KINDS]
        if bad:
            raise ValueError(f"unknown noise kind {bad[0]!r}; valid: {', '.join(noise_kinds.KINDS)} (join with '+')")
        if self.max_throw <= 0 or self.layer_thickness <= 0:
            raise ValueError("max_throw and layer_thickness must be positive")
        if self.texture < 0 or self.texture_length <= 0:
            raise ValueError("texture must be >= 0 and texture_length positive")

    @property
    def noise_kinds(self) -> list[str]:
        """The noise kinds mixed into the survey."""
        return [k.strip() for k in self.noise_kind.split("+") if k.strip()]


@dataclass
class Survey:
    """A synthetic survey: noisy and clean amplitudes and a fault mask, each (inlines, crosslines, samples)."""

    seismic: np.ndarray
    clean: np.ndarray
    fault_mask: np.ndarray
    config: SynthConfig


def ricker(freq_hz: float, dt_ms: float, phase_deg: float = 0.0) -> np.ndarray:
    """Ricker wavelet of a dominant frequency, sampled at dt, length +-1.5 / f, rotated by a constant phase."""
    half = int(np.ceil(1.5 / freq_hz / (dt_ms / 1000.0)))
    t = np.arange(-half, half + 1) * (dt_ms / 1000.0)
    a = (np.pi * freq_hz * t) ** 2
    w = (1.0 - 2.0 * a) * np.exp(-a)
    if phase_deg:
        phi = np.deg2rad(phase_deg)  # w cos(phi) - H[w] sin(phi): the analytic signal's real part, rotated
        w = np.cos(phi) * w - np.sin(phi) * np.imag(hilbert(w))
    return w.astype(np.float32)


def layered_reflectivity(n: int, rng: np.random.Generator, mean_thickness: float = 6.0) -> np.ndarray:
    """Random blocky impedance log turned into reflectivity (length n)."""
    thickness = rng.exponential(mean_thickness, size=n).clip(1.5, None)
    tops = np.cumsum(thickness)
    tops = tops[tops < n]
    log_z = np.cumsum(rng.normal(0.0, 0.12, size=len(tops) + 1))
    layer = np.searchsorted(tops, np.arange(n))
    impedance_log = log_z[layer]
    refl = np.zeros(n, dtype=np.float64)
    refl[1:] = 0.5 * np.diff(impedance_log)
    return refl


def _fault_normal(rng: np.random.Generator, single_line: bool) -> np.ndarray:
    """Unit normal of a fault plane (inline, crossline, time); on a single line the fault cuts the section."""
    if single_line:  # strike within 60 degrees of perpendicular to the line, dipping either way along it
        strike = rng.choice([-1.0, 1.0]) * (np.pi / 2 + rng.uniform(-np.pi / 3, np.pi / 3))
    else:
        strike = rng.uniform(0, np.pi)
    dip = np.deg2rad(rng.uniform(55, 80))  # drawn after the strike: 3D surveys keep their seeds' faults
    return np.array([np.sin(dip) * np.cos(strike), np.sin(dip) * np.sin(strike), np.cos(dip)], np.float32)


def _texture(src: np.ndarray, length: int, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS reflectivity that varies along the layers: white in the layers' own depth coordinate, smoothed
    across traces over `texture_length`, sampled where the folded, faulted layers put each sample."""
    ni, nx, _ = src.shape
    field = rng.standard_normal((ni, nx, length)).astype(np.float32)
    for axis, n in ((0, ni), (1, nx)):
        if n > 1:
            field = gaussian_filter1d(field, cfg.texture_length, axis=axis, mode="reflect")
    u = np.clip(src, 0, length - 1.001)
    lo = np.floor(u).astype(np.int64)
    w = (u - lo).astype(np.float32)
    out = np.take_along_axis(field, lo, axis=2) * (1 - w) + np.take_along_axis(field, lo + 1, axis=2) * w
    return out / np.float32(np.sqrt(np.mean(np.square(out, dtype=np.float64))) or 1.0)


def _noise(clean: np.ndarray, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of the configured kinds (several kinds are summed with random weights)."""
    kinds = cfg.noise_kinds
    if kinds == ["white"]:
        return rng.standard_normal(clean.shape, dtype=np.float32)  # the original recipe, kept bit for bit
    total = np.zeros(clean.shape, dtype=np.float32)
    for kind in kinds:
        weight = np.float32(rng.uniform(0.5, 1.0) if len(kinds) > 1 else 1.0)
        total += weight * noise_kinds.make_noise(kind, clean.shape, rng, cfg.dt_ms, tuple(cfg.noise_band_hz),
                                                 cfg.lateral_sigma)
    return total / np.float32(np.sqrt(np.mean(np.square(total, dtype=np.float64))) or 1.0)


def make_survey(cfg: SynthConfig) -> Survey:
    """Generate the noisy, clean and fault-mask volumes of a synthetic survey (one inline: a 2D section)."""
    rng = np.random.default_rng(cfg.seed)
    ni, nx, nz = cfg.inlines, cfg.crosslines, cfg.samples
    margin = int(cfg.fold_amplitude * 2 + abs(cfg.shear) * (ni + nx) + 20 * max(cfg.faults, 1) + 16)
    refl_1d = layered_reflectivity(nz + 2 * margin, rng, cfg.layer_thickness)

    ii, xx, zz = np.meshgrid(np.arange(ni, dtype=np.float32), np.arange(nx, dtype=np.float32),
                             np.arange(nz, dtype=np.float32), indexing="ij")
    src = zz.copy()
    fault_mask = np.zeros((ni, nx, nz), dtype=np.float32)
    # faults, applied one after the other, shift the hanging wall along the time axis
    for _ in range(cfg.faults):
        normal = _fault_normal(rng, single_line=ni == 1)
        throw = rng.uniform(min(4.0, cfg.max_throw), cfg.max_throw) * rng.choice([-1.0, 1.0])
        p0 = np.array([rng.uniform(0.2, 0.8) * ni, rng.uniform(0.2, 0.8) * nx, rng.uniform(0.3, 0.7) * nz], np.float32)
        dist = normal[0] * (ii - p0[0]) + normal[1] * (xx - p0[1]) + normal[2] * (zz - p0[2])
        src -= np.where(dist > 0, throw, 0.0).astype(np.float32)
        fault_mask[np.abs(dist) < 0.5] = 1.0
    # folding: Gaussian bumps growing with depth, plus a planar shear
    fold = np.zeros((ni, nx), dtype=np.float32)
    for _ in range(cfg.fold_bumps):
        ci, cx = rng.uniform(0, ni), rng.uniform(0, nx)
        sigma = rng.uniform(0.15, 0.35) * max(ni, nx)
        amp = rng.uniform(-1, 1) * cfg.fold_amplitude
        fold += amp * np.exp(-((ii[..., 0] - ci) ** 2 + (xx[..., 0] - cx) ** 2) / (2 * sigma**2))
    shear = cfg.shear * (rng.uniform(-1, 1) * ii[..., 0] + rng.uniform(-1, 1) * xx[..., 0])
    src += fold[..., None] * (0.5 + zz / nz) + shear[..., None]
    refl = np.interp(src.ravel() + margin, np.arange(len(refl_1d)), refl_1d).reshape(ni, nx, nz).astype(np.float32)
    if cfg.texture > 0:  # drawn after everything above, so texture 0 keeps a seed's survey as it was
        refl += _texture(src + margin, len(refl_1d), cfg, rng) * np.float32(cfg.texture * np.std(refl_1d))
    # bright spots: smooth local amplitude boosts in a few layers
    for _ in range(cfg.bright_spots):
        c = np.array([rng.uniform(0, ni), rng.uniform(0, nx), rng.uniform(0.2, 0.8) * nz], np.float32)
        r = np.array([rng.uniform(0.08, 0.2) * ni, rng.uniform(0.08, 0.2) * nx, rng.uniform(4, 10)], np.float32)
        blob = np.exp(-(((ii - c[0]) / r[0]) ** 2 + ((xx - c[1]) / r[1]) ** 2 + ((src - c[2]) / r[2]) ** 2))
        refl *= 1.0 + rng.uniform(1.5, 3.0) * blob
    clean = convolve1d(refl, ricker(cfg.freq_hz, cfg.dt_ms, cfg.phase_deg), axis=2, mode="constant").astype(np.float32)
    rms = float(np.sqrt(np.mean(clean.astype(np.float64) ** 2))) or 1.0
    clean /= rms  # clean RMS = 1
    noise = _noise(clean, cfg, rng) * np.float32(cfg.noise)
    return Survey(seismic=clean + noise, clean=clean, fault_mask=fault_mask, config=cfg)


@dataclass
class SynthRanges:
    """Ranges of the synthetic knobs that fresh training sections are drawn from (low, high) or choices."""

    freq_hz: tuple[float, float] = (10.0, 60.0)
    phase_deg: tuple[float, float] = (-180.0, 180.0)
    dt_ms: tuple[float, ...] = (2.0, 4.0)
    faults: tuple[int, int] = (0, 4)
    max_throw: tuple[float, float] = (4.0, 16.0)
    fold_bumps: tuple[int, int] = (2, 8)
    fold_amplitude: tuple[float, float] = (0.0, 20.0)
    shear: tuple[float, float] = (0.0, 0.3)
    layer_thickness: tuple[float, float] = (3.0, 10.0)
    texture: tuple[float, float] = (0.0, 1.2)
    texture_length: tuple[float, float] = (1.5, 12.0)
    bright_spots: tuple[int, int] = (0, 3)
    noise: tuple[float, float] = (0.1, 1.0)
    noise_kinds: tuple[str, ...] = noise_kinds.KINDS
    mixed_noise: float = 0.3  # probability of adding a second noise kind
    noise_band_hz: tuple[float, float] = (5.0, 60.0)  # low and high edges of the noise band are drawn in here
    lateral_sigma: tuple[float, float] = (1.0, 4.0)

    def __post_init__(self) -> None:
        for name in ("freq_hz", "phase_deg", "faults", "max_throw", "fold_bumps", "fold_amplitude", "shear",
                     "layer_thickness", "texture", "texture_length", "bright_spots", "noise", "noise_band_hz",
                     "lateral_sigma"):
            value = tuple(getattr(self, name))
            if len(value) != 2 or value[0] > value[1]:
                raise ValueError(f"synthetic range {name} must be [low, high] with low <= high, got {list(value)}")
            setattr(self, name, value)
        bad = [k for k in self.noise_kinds if k not in noise_kinds.KINDS]
        if bad or not self.noise_kinds:
            raise ValueError(f"synthetic noise_kinds must be some of {', '.join(noise_kinds.KINDS)}, got {bad}")
        if not self.dt_ms or min(self.dt_ms) <= 0:
            raise ValueError("synthetic dt_ms must list positive sample intervals")
        if self.freq_hz[1] >= 500.0 / max(self.dt_ms):
            raise ValueError(f"synthetic freq_hz up to {self.freq_hz[1]:g} Hz is above the Nyquist frequency of "
                             f"dt {max(self.dt_ms):g} ms")

    def draw(self, rng: np.random.Generator, inlines: int, crosslines: int, samples: int) -> SynthConfig:
        """One random survey configuration (its own seed drawn from rng too)."""
        def uniform(name: str) -> float:
            lo, hi = getattr(self, name)
            return float(rng.uniform(lo, hi))

        def integer(name: str) -> int:
            lo, hi = getattr(self, name)
            return int(rng.integers(lo, hi + 1))

        kinds = [str(rng.choice(self.noise_kinds))]
        if len(self.noise_kinds) > 1 and rng.random() < self.mixed_noise:
            kinds.append(str(rng.choice([k for k in self.noise_kinds if k != kinds[0]])))
        dt = float(rng.choice(self.dt_ms))
        nyquist = 500.0 / dt
        lo_band = float(rng.uniform(self.noise_band_hz[0], (self.noise_band_hz[0] + self.noise_band_hz[1]) / 2))
        hi_band = float(min(rng.uniform(lo_band + 10.0, max(lo_band + 10.0, self.noise_band_hz[1]) + 1e-6),
                            0.9 * nyquist))
        return SynthConfig(
            inlines=inlines, crosslines=crosslines, samples=samples, dt_ms=dt, freq_hz=uniform("freq_hz"),
            phase_deg=uniform("phase_deg"), faults=integer("faults"), max_throw=uniform("max_throw"),
            noise=uniform("noise"), noise_kind="+".join(kinds), noise_band_hz=(lo_band, hi_band),
            lateral_sigma=uniform("lateral_sigma"), fold_bumps=integer("fold_bumps"),
            fold_amplitude=uniform("fold_amplitude"), shear=uniform("shear") * float(rng.choice([-1.0, 1.0])),
            layer_thickness=uniform("layer_thickness"), bright_spots=integer("bright_spots"),
            texture=uniform("texture"), texture_length=uniform("texture_length"),
            seed=int(rng.integers(0, 2**31 - 1)))


def _text_header(cfg: SynthConfig, what: str) -> dict[int, str]:
    """Textual header lines describing the synthetic survey."""
    params = asdict(cfg)
    return {
        1: f"SEISFUSE SYNTHETIC SURVEY - {what.upper()}",
        2: "FOLDED FAULTED LAYERED REFLECTIVITY * RICKER WAVELET + NOISE",
        3: " ".join(f"{k}={params[k]}" for k in ("inlines", "crosslines", "samples", "dt_ms")),
        4: " ".join(f"{k}={params[k]}" for k in ("freq_hz", "faults", "noise", "seed")),
        5: "INLINE BYTE 189  CROSSLINE BYTE 193  CDP X/Y BYTES 181/185  IEEE FLOAT",
        6: f"BIN SIZE {BIN_SIZE_M:g} M  FIRST INLINE {FIRST_INLINE}  FIRST CROSSLINE {FIRST_CROSSLINE}",
    }


def write_volume(path: str | os.PathLike, data: np.ndarray, cfg: SynthConfig, what: str = "seismic",
                 fmt: int = 5, endian: str = "big") -> None:
    """Write an (inlines, crosslines, samples) array as inline-sorted SEG-Y with standard headers, atomically."""
    from seisfuse.segy.writing import write_grid_file

    write_grid_file(path, data, cfg.dt_ms, _text_header(cfg, what), FIRST_INLINE, FIRST_CROSSLINE, BIN_SIZE_M,
                    (1000.0, 2000.0), fmt, endian)
