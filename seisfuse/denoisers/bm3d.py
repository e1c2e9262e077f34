"""BM3D (Dabov et al., IEEE TIP 2007) through the reference `bm3d` package, its noise estimated from the data.

`bm3d` is free for non-commercial use only, so it is an optional extra:
``pip install 'seisfuse[baselines]'``. Two variants, neither given the true noise:

* ``bm3d``: white noise of the standard deviation estimated per section
  (`seisfuse.denoisers.estimate.estimate_sigma`), times ``sigma_scale``;
* ``bm3d-psd``: noise coloured in time, independent between traces, with the power
  spectrum estimated per section from adjacent-trace differences
  (`seisfuse.denoisers.estimate.estimate_psd`), times ``sigma_scale`` squared; BM3D's
  correlated-noise mode (Mäkinen, Azzari & Foi, IEEE TIP 2020) uses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seisfuse.denoisers.estimate import estimate_psd, estimate_sigma
from seisfuse.errors import SeisfuseError

EXTRA = "pip install 'seisfuse[baselines]' (BM3D's licence: non-commercial use only)"


def _bm3d() -> Any:
    """The bm3d function, or a clear message when the optional extra is missing."""
    try:
        from bm3d import bm3d
    except ImportError:
        raise SeisfuseError(f"the bm3d baselines need the optional package bm3d: {EXTRA}") from None
    if not hasattr(np, "trapz"):  # bm4d 4.2 (under bm3d's correlated-noise mode) calls np.trapz, gone in numpy 2.4
        np.trapz = np.trapezoid
    return bm3d


def available() -> bool:
    """True when the bm3d package can be imported."""
    try:
        _bm3d()
    except SeisfuseError:
        return False
    return True


BLOCK = 8  # the bm3d package's block size: smaller images are padded (reflected) to it


def run_bm3d(img: np.ndarray, sigma_psd: float | np.ndarray) -> np.ndarray:
    """BM3D of a 2D image in [0, 1] (float32 out, clipped); an image narrower than a block is reflected to one."""
    z = np.asarray(img, dtype=np.float64)
    h, w = z.shape
    ph, pw = max(0, BLOCK - h), max(0, BLOCK - w)
    if ph or pw:
        z = np.pad(z, ((0, ph), (0, pw)), mode="symmetric")
        if isinstance(sigma_psd, np.ndarray):  # a PSD is per frequency of the padded image: resample it
            sigma_psd = np.pad(sigma_psd, ((0, ph), (0, pw)), mode="edge") * (z.size / (h * w))
    out = np.asarray(_bm3d()(z, sigma_psd), dtype=np.float32).reshape(z.shape)[:h, :w]
    return np.clip(out, 0.0, 1.0)


def bm3d_white(img: np.ndarray, sigma_scale: float = 1.0) -> np.ndarray:
    """BM3D for white noise with the sigma estimated from the section itself."""
    if not sigma_scale > 0:
        raise ValueError(f"sigma_scale must be positive, got {sigma_scale}")
    sigma = estimate_sigma(img) * sigma_scale
    if sigma <= 0:
        return np.asarray(img, dtype=np.float32).copy()
    return run_bm3d(img, sigma)


def bm3d_psd(img: np.ndarray, sigma_scale: float = 1.0) -> np.ndarray:
    """BM3D for trace-independent noise coloured in time, its spectrum estimated from the section itself."""
    if not sigma_scale > 0:
        raise ValueError(f"sigma_scale must be positive, got {sigma_scale}")
    psd = estimate_psd(img) * sigma_scale**2
    if not np.any(psd > 0):
        return np.asarray(img, dtype=np.float32).copy()
    return run_bm3d(img, psd)


def bm3d_psd_given(img: np.ndarray, psd: np.ndarray) -> np.ndarray:
    """BM3D given a noise PSD (the oracle rows of the benchmarks, with the true noise's spectrum)."""
    return run_bm3d(img, psd)
