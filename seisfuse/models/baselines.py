"""Classical baselines on sections in [0, 1]: fusion rules (average, Laplacian pyramid, wavelet) and filters of the
raw section (gaussian, median, bilateral: one OpenCV call each, parameters tuned on training data)."""

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


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "average": average,
    "laplacian": laplacian_pyramid,
    "wavelet": wavelet,
}


# ---------------------------------------------------------------- classical filters of the raw section
def gaussian_filter(raw: np.ndarray, edge: np.ndarray | None = None, sigma: float = 1.0) -> np.ndarray:
    """One OpenCV Gaussian blur of the raw section (reflected borders); the edge branch is not used."""
    return cv2.GaussianBlur(np.asarray(raw, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def median_filter(raw: np.ndarray, edge: np.ndarray | None = None, size: int = 3) -> np.ndarray:
    """One OpenCV median filter of the raw section (size 3 or 5)."""
    return cv2.medianBlur(np.ascontiguousarray(raw, dtype=np.float32), size)


def bilateral_filter(raw: np.ndarray, edge: np.ndarray | None = None, diameter: int = 5, sigma_color: float = 0.1,
                     sigma_space: float = 2.0) -> np.ndarray:
    """One OpenCV bilateral filter of the raw section (Tomasi & Manduchi 1998); sigma_color on the [0, 1] scale."""
    return cv2.bilateralFilter(np.ascontiguousarray(raw, dtype=np.float32), diameter, sigma_color, sigma_space)


FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": gaussian_filter,
    "median": median_filter,
    "bilateral": bilateral_filter,
}
#: Parameters tuned on synthetic training sections by SSIM to the clean section (scripts/bench/tune_classical.py).
TUNED: dict[str, dict[str, float]] = {
    "gaussian": {"sigma": 1.0},
    "median": {"size": 3},
    "bilateral": {"diameter": 5, "sigma_color": 0.3, "sigma_space": 3.0},
}


#: The small grid the filters are tuned on (scripts/bench/tune_classical.py), and searched per file by benchmark.
GRID: dict[str, list[dict[str, float]]] = {
    "gaussian": [{"sigma": s} for s in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)],
    "median": [{"size": k} for k in (3, 5)],
    "bilateral": [{"diameter": d, "sigma_color": c, "sigma_space": s}
                  for d in (5, 7, 9) for c in (0.05, 0.1, 0.2, 0.3, 0.5) for s in (1.5, 3.0)],
}


def method(name: str, **params: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A fusion baseline or a classical filter (tuned parameters unless given) as f(raw, edge)."""
    if name in BASELINES:
        if params:
            raise ValueError(f"{name} takes no parameters")
        return BASELINES[name]
    if name not in FILTERS:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join([*BASELINES, *FILTERS])}")
    merged = {**TUNED[name], **params}
    try:
        FILTERS[name](np.full((8, 8), 0.5, np.float32), None, **merged)
    except (TypeError, cv2.error) as exc:
        raise ValueError(f"{name}: invalid parameters {params}: {str(exc).splitlines()[0]}") from None

    def apply(raw: np.ndarray, edge: np.ndarray) -> np.ndarray:
        return FILTERS[name](raw, edge, **merged)

    apply.__name__ = f"{name}({', '.join(f'{k}={v:g}' for k, v in merged.items())})"
    return apply


METHODS = (*BASELINES, *FILTERS)
