"""Noisier patches: learning from noisy data alone by removing more of its own noise (Noisier2Noise).

Moran, Marchisio, Hewitt & Toth, "Noisier2Noise: Learning to Denoise from Unpaired Noisy
Data", CVPR 2020: a noisy patch y gets more noise m drawn like its own, z = y + m, and the
network learns z -> y. Here m is drawn from the file's own noise as the data show it, with
no clean reference: independent between traces (field noise), coloured in time by the
spectrum of adjacent-trace differences (`seisfuse.denoisers.estimate`), at `ratio` times its
level. The patch itself (noisy) is the target, its edge branch the edge target, so the usual
clean-referenced loss applies; such items are not counted in val/score (their target is
not clean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisfuse.denoisers.estimate import temporal_noise_spectrum


@dataclass
class Noisier:
    """How real-file patches get more of their own noise (keys under `data.noisier`)."""

    ratio: float = 1.0  # RMS of the added noise / the file's estimated noise RMS
    sections: int = 8  # sections of a file its noise spectrum is estimated from

    def __post_init__(self) -> None:
        if not 0.0 < self.ratio <= 4.0:
            raise ValueError(f"noisier.ratio must be in (0, 4], got {self.ratio}")
        if self.sections < 1:
            raise ValueError(f"noisier.sections must be >= 1, got {self.sections}")


def noise_psd(sections: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(frequency in cycles per sample, power per sample) of the trace-independent noise of normalized sections."""
    spectra = []
    for s in sections:
        n = s.shape[0]
        full = temporal_noise_spectrum(s)[: n // 2 + 1] / n  # E|FFT|^2 / n: power per sample and bin
        spectra.append(np.interp(np.linspace(0, 0.5, 257), np.fft.rfftfreq(n), full))
    return np.linspace(0, 0.5, 257), np.mean(spectra, axis=0)


def draw_noise(shape: tuple[int, int], psd: tuple[np.ndarray, np.ndarray], ratio: float,
               rng: np.random.Generator) -> np.ndarray:
    """Noise (samples, traces) independent between traces, with the given temporal power spectrum, times ratio."""
    h, w = shape
    freqs, power = psd
    gain = np.sqrt(np.maximum(np.interp(np.fft.rfftfreq(h), freqs, power), 0.0))
    white = np.fft.rfft(rng.standard_normal((h, w)), axis=0)
    return (ratio * np.fft.irfft(white * gain[:, None], n=h, axis=0)).astype(np.float32)
