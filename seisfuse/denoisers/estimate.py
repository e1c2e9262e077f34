"""Estimates of the noise in a section from the section alone: its level and its spectrum.

No clean reference is used anywhere here; these are what a careful user of a classical
denoiser can know about a real section (the network's own noise-level input, estimated on
the device by the same median rule, is `seisfuse.models.blocks.NoiseLevel`).

* :func:`estimate_sigma`: the standard deviation of white noise, Donoho's robust median
  estimator on the finest diagonal wavelet sub-band (Donoho & Johnstone 1994; the same
  rule as ``skimage.restoration.estimate_sigma``): sigma = median(|HH1|) / 0.6745, exact zeros
  (dead traces, padding) left out.
* :func:`estimate_psd`: the power spectrum of noise that is independent from trace to
  trace but coloured in time (band-limited field noise). Seismic signal is laterally
  coherent, so the difference of adjacent traces keeps the noise (twice its power) and
  cancels most of the signal; the median over trace pairs of the difference's power
  spectrum, divided by ln 2 (the median of an exponential variable is ln 2 times its
  mean), is robust to the pairs where dipping events do not cancel.
"""

from __future__ import annotations

import math

import numpy as np
import pywt

MAD_TO_SIGMA = 0.6744897501960817  # median(|N(0, 1)|) = the normal distribution's 75th percentile


def estimate_sigma(section: np.ndarray) -> float:
    """Standard deviation of white noise in a 2D image (wavelet MAD of the finest diagonal details, db2)."""
    x = np.asarray(section, dtype=np.float64)
    if min(x.shape) < 4:
        return float(np.median(np.abs(x - np.median(x))) / MAD_TO_SIGMA)
    _, (_, _, hh) = pywt.dwt2(x, "db2")
    hh = hh[hh != 0]
    return float(np.median(np.abs(hh)) / MAD_TO_SIGMA) if hh.size else 0.0


def temporal_noise_spectrum(section: np.ndarray, smooth_bins: int = 5) -> np.ndarray:
    """E|FFT_t(noise trace)|^2 per frequency bin (length samples, two-sided) from adjacent-trace differences.

    section is (samples, traces). With a single trace, the white level of the trace itself is returned.
    """
    x = np.asarray(section, dtype=np.float64)
    n_t, n_x = x.shape
    if n_x < 2:
        return np.full(n_t, estimate_sigma(x) ** 2 * n_t)
    diff = (x[:, 1:] - x[:, :-1]) / math.sqrt(2.0)
    power = np.abs(np.fft.fft(diff, axis=0)) ** 2  # (samples, pairs)
    spectrum = np.median(power, axis=1) / math.log(2.0)
    if smooth_bins > 1:  # circular moving average: the two-sided spectrum wraps around
        k = np.ones(smooth_bins) / smooth_bins
        half = smooth_bins // 2
        padded = np.concatenate([spectrum[-half:], spectrum, spectrum[:half]]) if half else spectrum
        spectrum = np.convolve(padded, k, mode="valid")
    return spectrum


def estimate_psd(section: np.ndarray, smooth_bins: int = 5) -> np.ndarray:
    """The 2D noise PSD of a (samples, traces) section, E|FFT2(noise)|^2, for noise independent between traces.

    This is the convention of the `bm3d` package's sigma_psd (white noise of std s: s^2 * samples * traces).
    """
    x = np.asarray(section)
    return np.repeat(temporal_noise_spectrum(x, smooth_bins)[:, None] * x.shape[1], x.shape[1], axis=1)

