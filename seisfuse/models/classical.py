"""Classical fusion rules of a (raw, edge) pair in [0, 1]: average, Laplacian pyramid, wavelet (the fusion baselines).

Classical denoisers of the raw section alone (gaussian, median, bilateral, f-x deconvolution,
BM3D) live in `seisfuse.denoisers`.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pywt


def average(raw: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """Pixel-wise mean of the two sources."""
    return (0.5 * (np.asarray(raw, np.float32) + np.asarray(edge, np.float32))).astype(np.float32)


def _max_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per coefficient, the one of larger magnitude (ties: a)."""
    return np.where(np.abs(a) >= np.abs(b), a, b)


def _levels_that_fit(shape: tuple[int, int], levels: int, minimum: int = 4) -> int:
    """Pyramid levels that keep the coarsest image at least `minimum` pixels on each side."""
    n = 0
    h, w = shape
    while n < levels and min(h, w) // 2 >= minimum:
        h, w = (h + 1) // 2, (w + 1) // 2
        n += 1
    return n


def laplacian_pyramid(raw: np.ndarray, edge: np.ndarray, levels: int = 4) -> np.ndarray:
    """Laplacian-pyramid fusion (Burt & Adelson 1983): max-abs detail coefficients, averaged base."""
    a, b = np.asarray(raw, np.float32), np.asarray(edge, np.float32)
    n = _levels_that_fit(a.shape, levels)
    ga, gb = [a], [b]
    for _ in range(n):
        ga.append(cv2.pyrDown(ga[-1]))
        gb.append(cv2.pyrDown(gb[-1]))
    out = 0.5 * (ga[-1] + gb[-1])
    for k in range(n - 1, -1, -1):
        size = (ga[k].shape[1], ga[k].shape[0])
        la = ga[k] - cv2.pyrUp(ga[k + 1], dstsize=size)
        lb = gb[k] - cv2.pyrUp(gb[k + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + _max_abs(la, lb)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def wavelet(raw: np.ndarray, edge: np.ndarray, wavelet_name: str = "db2", levels: int = 3) -> np.ndarray:
    """Discrete wavelet fusion (PyWavelets): max-abs detail coefficients, averaged approximation."""
    a, b = np.asarray(raw, np.float64), np.asarray(edge, np.float64)
    level = min(levels, pywt.dwt_max_level(min(a.shape), pywt.Wavelet(wavelet_name).dec_len))
    if level < 1:
        return average(raw, edge)
    ca = pywt.wavedec2(a, wavelet_name, level=level, mode="symmetric")
    cb = pywt.wavedec2(b, wavelet_name, level=level, mode="symmetric")
    fused = [0.5 * (ca[0] + cb[0])]
    for da, db in zip(ca[1:], cb[1:], strict=True):
        fused.append(tuple(_max_abs(x, y) for x, y in zip(da, db, strict=True)))
    out = pywt.waverec2(fused, wavelet_name, mode="symmetric")[: a.shape[0], : a.shape[1]]
    return np.clip(out, 0.0, 1.0).astype(np.float32)


CLASSICAL_FUSIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "average": average,
    "laplacian": laplacian_pyramid,
    "wavelet": wavelet,
}


def method_names() -> tuple[str, ...]:
    """Every classical method `seisfuse baseline` runs: the fusion rules, then the registered denoisers."""
    from seisfuse.denoisers import names

    return (*CLASSICAL_FUSIONS, *names())
