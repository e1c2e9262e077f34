"""Fusion quality metrics on sections in [0, 1] (numpy, float64).

Conventions (stated because papers differ):

* Images are the normalized sections in [0, 1], never re-stretched per image, so a fused
  image that only rescales its input does not score better.
* Histograms use 256 equal bins over [0, 1] (value v goes to bin min(floor(256 v), 255)).
* EN: Shannon entropy of the histogram, bits. SD: standard deviation.
* SF: sqrt(RF^2 + CF^2), RF / CF the RMS of horizontal / vertical first differences.
* AG: mean over pixels of sqrt((dx^2 + dy^2) / 2), forward differences.
* MI: MI(F, A) + MI(F, B) in **bits** (log2), from 256 x 256 joint histograms. (CDDFuse and
  others report nats via scikit-learn: divide ours by log2(e) = 1.4427 to compare.)
* Qabf: Xydeas & Petrovic, "Objective image fusion performance measure", Electronics
  Letters 36(4), 2000, exactly as VIFB's `metricsQabf.m` (which CDDFuse's Evaluator
  follows): images on the 0-255 scale, Sobel by zero-padded 'same' convolution,
  g = sqrt(gx^2 + gy^2), orientation alpha = atan(gy/gx) (pi/2 where gx = 0), strength
  ratio G = min(gA, gF) / max(gA, gF) (and, as the reference code does, G = gF where
  gA = gF), A = 1 - |alphaA - alphaF| / (pi/2) with no modulo; Tg=0.9994, kg=-15, Dg=0.5,
  Ta=0.9879, ka=-22, Da=0.8; weights w = g (L=1). For F = A = B the score approaches
  Tg * Ta / (1 + exp(-22 * 0.2)) = 0.9753 on strong edges.
* Qabf_clean: the same with the clean section and its edge branch as the sources: how much
  of the noise-free edges the fused section carries (synthetic data).
* VIF: pixel-domain visual information fidelity (Sheikh & Bovik 2006) from torchmetrics
  on the 0-255 scale (sigma_n^2 = 2), summed over the sources as CDDFuse's VIFF is:
  VIF(A -> F) + VIF(B -> F); VIF_clean = VIF(clean -> F). NaN below 41 x 41 pixels.
* SCD: Aslantas & Bendes (2015), corr(F - B, A) + corr(F - A, B).
* SSIM: pytorch-msssim, 11-px Gaussian window (sigma 1.5), data range 1. PSNR: 10 log10(1 / MSE).
* Fault contrast (synthetic data): mean Sobel gradient magnitude on fault-mask pixels over
  the mean off the mask.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from pytorch_msssim import ssim as _torch_ssim
from scipy import ndimage as ndi

BINS = 256
QABF = {"Tg": 0.9994, "kg": -15.0, "Dg": 0.5, "Ta": 0.9879, "ka": -22.0, "Da": 0.8}


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def quantize(img: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Bin index of every pixel of an image in [0, 1]."""
    return np.clip(np.floor(_f64(img) * bins), 0, bins - 1).astype(np.int64)


def entropy(img: np.ndarray) -> float:
    """EN: Shannon entropy (bits) of the 256-bin histogram."""
    p = np.bincount(quantize(img).ravel(), minlength=BINS) / img.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def standard_deviation(img: np.ndarray) -> float:
    """SD of the pixel values."""
    return float(_f64(img).std())


def spatial_frequency(img: np.ndarray) -> float:
    """SF: sqrt(RF^2 + CF^2) from the RMS of row and column first differences."""
    x = _f64(img)
    rf = np.mean(np.diff(x, axis=1) ** 2) if x.shape[1] > 1 else 0.0
    cf = np.mean(np.diff(x, axis=0) ** 2) if x.shape[0] > 1 else 0.0
    return float(math.sqrt(rf + cf))


def average_gradient(img: np.ndarray) -> float:
    """AG: mean of sqrt((dx^2 + dy^2) / 2) with forward differences."""
    x = _f64(img)
    dx = x[:-1, 1:] - x[:-1, :-1]
    dy = x[1:, :-1] - x[:-1, :-1]
    return float(np.mean(np.sqrt((dx * dx + dy * dy) / 2))) if dx.size else 0.0


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """MI(A, B) in bits from the 256 x 256 joint histogram."""
    joint = np.bincount((quantize(a) * BINS + quantize(b)).ravel(), minlength=BINS * BINS).reshape(BINS, BINS)
    pab = joint / joint.sum()
    pa = pab.sum(axis=1, keepdims=True)
    pb = pab.sum(axis=0, keepdims=True)
    nz = pab > 0
    return float((pab[nz] * np.log2(pab[nz] / (pa @ pb)[nz])).sum())


def fusion_mi(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """MI: MI(F, A) + MI(F, B), bits."""
    return mutual_information(fused, a) + mutual_information(fused, b)


def _sobel(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel derivatives (x, y) with reflected borders (fault contrast)."""
    x = _f64(img)
    return ndi.sobel(x, axis=1, mode="mirror"), ndi.sobel(x, axis=0, mode="mirror")


#: VIFB's Sobel kernels (h3: x, h1: y), applied by true convolution with zero padding ('same').
_H1 = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])
_H3 = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _qabf_strength_orientation(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength and orientation of a [0, 1] image on the 0-255 scale, as metricsQabf.m computes them."""
    from scipy.signal import convolve2d

    x = 255.0 * _f64(img)
    gx = convolve2d(x, _H3, mode="same")
    gy = convolve2d(x, _H1, mode="same")
    g = np.sqrt(gx * gx + gy * gy)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(gx == 0, math.pi / 2, np.arctan(gy / np.where(gx == 0, 1.0, gx)))
    return g, alpha


def _edge_preservation(g_src: np.ndarray, a_src: np.ndarray, g_f: np.ndarray, a_f: np.ndarray) -> np.ndarray:
    """Q^{SF}: how well F keeps the edge strength and orientation of a source, per pixel (metricsQabf.m)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(g_src > g_f, g_f / g_src, np.where(g_src == g_f, g_f, g_src / g_f))
    A = 1.0 - np.abs(a_src - a_f) / (math.pi / 2)
    c = QABF
    qg = c["Tg"] / (1.0 + np.exp(c["kg"] * (G - c["Dg"])))
    qa = c["Ta"] / (1.0 + np.exp(c["ka"] * (A - c["Da"])))
    return qg * qa


def qabf(a: np.ndarray, b: np.ndarray, fused: np.ndarray) -> float:
    """Qabf: gradient-weighted edge preservation from sources A and B into F (Xydeas & Petrovic 2000; VIFB), summed
    over strips of rows (each with a row of context: the 3 x 3 Sobel's), so memory stays flat per sample."""
    h = np.shape(a)[0]
    num = den = 0.0
    for lo in range(0, h, STRIP_ROWS):
        hi = min(lo + STRIP_ROWS, h)
        top, bottom = max(lo - 1, 0), min(hi + 1, h)
        keep = slice(lo - top, lo - top + hi - lo)  # this strip's rows, computed with their neighbours
        ga, aa = (x[keep] for x in _qabf_strength_orientation(np.asarray(a)[top:bottom]))
        gb, ab = (x[keep] for x in _qabf_strength_orientation(np.asarray(b)[top:bottom]))
        gf, af = (x[keep] for x in _qabf_strength_orientation(np.asarray(fused)[top:bottom]))
        num += float((_edge_preservation(ga, aa, gf, af) * ga + _edge_preservation(gb, ab, gf, af) * gb).sum())
        den += float((ga + gb).sum())
    return num / den if den != 0 else 0.0


#: Rows per strip of the per-pixel metrics: a full-size section is never held in more than a few float64 copies.
STRIP_ROWS = 256


def _valid_gauss(x: np.ndarray, n: int) -> np.ndarray:
    """x filtered by torchmetrics' VIF window (n x n, sigma n / 5, normalized), 'valid' part only: the same numbers as
    its 2D conv2d, computed as two 1D passes (the window is separable) with no n^2-times copy of the image."""
    from scipy.ndimage import correlate1d

    c = np.arange(n, dtype=np.float64) - (n - 1) / 2
    g = np.exp(-(c * c) / (2.0 * (n / 5) ** 2))
    g /= g.sum()
    r = n // 2
    y = correlate1d(correlate1d(x, g, axis=0, mode="constant"), g, axis=1, mode="constant")
    return y[r:x.shape[0] - r, r:x.shape[1] - r]


def _valid_strips(x: np.ndarray, n: int) -> Iterator[np.ndarray]:
    """Strips of rows whose 'valid' filters n rows tall give every output row exactly once (strips start at even rows,
    so a 2:1 decimation of each is the decimation of the whole)."""
    h = x.shape[0] - n + 1
    for lo in range(0, h, STRIP_ROWS):
        yield x[lo:min(lo + STRIP_ROWS, h) + n - 1]


def _vif_terms(target: np.ndarray, preds: np.ndarray, n: int, sigma_n_sq: float) -> tuple[float, float]:
    """VIF's numerator and denominator sums at one scale (torchmetrics' steps, 'valid' filters of size n)."""
    eps = 1e-10
    mu_t, mu_p = _valid_gauss(target, n), _valid_gauss(preds, n)
    s_tt = np.maximum(_valid_gauss(target * target, n) - mu_t * mu_t, 0.0)
    s_pp = np.maximum(_valid_gauss(preds * preds, n) - mu_p * mu_p, 0.0)
    s_tp = _valid_gauss(target * preds, n) - mu_t * mu_p
    g = s_tp / (s_tt + eps)
    s_v = s_pp - g * s_tp
    flat = s_tt < eps
    g[flat], s_v[flat], s_tt[flat] = 0.0, s_pp[flat], 0.0
    dark = s_pp < eps
    g[dark], s_v[dark] = 0.0, 0.0
    negative = g < 0
    s_v[negative], g[negative] = s_pp[negative], 0.0
    s_v = np.maximum(s_v, eps)
    return (float(np.log10(1.0 + g * g * s_tt / (s_v + sigma_n_sq)).sum()),
            float(np.log10(1.0 + s_tt / sigma_n_sq).sum()))


def vif(fused: np.ndarray, reference: np.ndarray, sigma_n_sq: float = 2.0) -> float:
    """Pixel-domain VIF of F against a reference on the 0-255 scale (NaN below 41 x 41): torchmetrics'
    `visual_information_fidelity` (Sheikh & Bovik 2006), step for step, with separable filters, the full-resolution
    scale in strips of rows, so memory stays flat per sample (torchmetrics' 17 x 17 conv2d unfolds 289 copies of the
    image on the CPU: 6.8 GB for 1000 x 3000)."""
    if min(np.shape(fused)) < 41:
        return math.nan
    preds, target = 255.0 * _f64(fused), 255.0 * _f64(reference)
    num = den = 0.0
    for t, p in zip(_valid_strips(target, 17), _valid_strips(preds, 17), strict=True):  # scale 0
        a, b = _vif_terms(t, p, 17, sigma_n_sq)
        num, den = num + a, den + b
    # scale 1 starts from the full-resolution image filtered (9 x 9, valid) and decimated: in strips too
    target = np.concatenate([_valid_gauss(t, 9)[::2, ::2] for t in _valid_strips(target, 9)])
    preds = np.concatenate([_valid_gauss(p, 9)[::2, ::2] for p in _valid_strips(preds, 9)])
    for scale in range(1, 4):
        n = 2 ** (4 - scale) + 1
        if scale > 1:
            target, preds = _valid_gauss(target, n)[::2, ::2], _valid_gauss(preds, n)[::2, ::2]
        a, b = _vif_terms(target, preds, n, sigma_n_sq)
        num, den = num + a, den + b
    return num / den


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x, y = _f64(x).ravel(), _f64(y).ravel()
    x, y = x - x.mean(), y - y.mean()
    den = math.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else 0.0


def scd(a: np.ndarray, b: np.ndarray, fused: np.ndarray) -> float:
    """SCD: sum of the correlations of differences, corr(F - B, A) + corr(F - A, B)."""
    return _corr(_f64(fused) - _f64(b), a) + _corr(_f64(fused) - _f64(a), b)


def ssim(x: np.ndarray, y: np.ndarray, window: int = 11) -> float:
    """SSIM (data range 1, Gaussian window of sigma 1.5) via pytorch-msssim: the mean of its map over the valid
    positions, gathered over strips of rows (each with the window's context), so memory stays flat per sample."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    win = max(min(window, *(s - (1 - s % 2) for s in x.shape)), 1)  # largest odd window that fits
    total = count = 0.0
    for sx, sy in zip(_valid_strips(x, win), _valid_strips(y, win), strict=True):
        rows = sx.shape[0] - win + 1
        value = _torch_ssim(torch.from_numpy(np.ascontiguousarray(sx))[None, None],
                            torch.from_numpy(np.ascontiguousarray(sy))[None, None], data_range=1.0, win_size=win)
        total += float(value) * rows
        count += rows
    return total / count


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR in dB for data range 1 (inf when equal)."""
    mse = float(np.mean((_f64(x) - _f64(y)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def fault_contrast(fused: np.ndarray, fault_mask: np.ndarray) -> float:
    """Mean gradient magnitude on fault pixels divided by the mean off faults (nan without both)."""
    g = np.hypot(*_sobel(fused))
    on = np.asarray(fault_mask) > 0.5
    if not on.any() or on.all():
        return math.nan
    on_mean, off_mean = g[on].mean(), g[~on].mean()
    if off_mean == 0:
        return math.inf if on_mean > 0 else math.nan
    return float(on_mean / off_mean)


#: Metrics of the standard suite, in table order, with whether larger is better.
SUITE = {"EN": True, "SD": True, "SF": True, "AG": True, "MI": True, "Qabf": True, "VIF": True, "SCD": True,
         "SSIM_raw": True, "SSIM_edge": True, "PSNR_raw": True, "PSNR_edge": True}
REFERENCE = {"SSIM_clean": True, "PSNR_clean": True, "SNR_clean": True, "Qabf_clean": True, "VIF_clean": True,
             "fault_contrast": True}


def snr_db(out: np.ndarray, reference: np.ndarray) -> float:
    """SNR in dB: 10 log10(|ref|^2 / |ref - out|^2), on the given (normalized or amplitude) values."""
    ref, err = _f64(reference), _f64(reference) - _f64(out)
    num, den = float((ref * ref).sum()), float((err * err).sum())
    return math.inf if den == 0 else 10.0 * math.log10(num / den) if num > 0 else -math.inf


def fusion_metrics(fused: np.ndarray, raw: np.ndarray, edge: np.ndarray, clean: np.ndarray | None = None,
                   fault_mask: np.ndarray | None = None, clean_edge: np.ndarray | None = None) -> dict[str, float]:
    """The standard suite for one section; with a clean section (and its edge branch) and fault mask also
    the reference metrics."""
    out = {
        "EN": entropy(fused), "SD": standard_deviation(fused), "SF": spatial_frequency(fused),
        "AG": average_gradient(fused), "MI": fusion_mi(fused, raw, edge), "Qabf": qabf(raw, edge, fused),
        "VIF": vif(fused, raw) + vif(fused, edge),
        "SCD": scd(raw, edge, fused), "SSIM_raw": ssim(fused, raw), "SSIM_edge": ssim(fused, edge),
        "PSNR_raw": psnr(fused, raw), "PSNR_edge": psnr(fused, edge),
    }
    if clean is not None:
        out["SSIM_clean"] = ssim(fused, clean)
        out["PSNR_clean"] = psnr(fused, clean)
        out["SNR_clean"] = snr_db(fused - 0.5, clean - 0.5)  # amplitudes: zero amplitude is 0.5 in [0, 1]
        out["VIF_clean"] = vif(fused, clean)
        if clean_edge is not None:
            out["Qabf_clean"] = qabf(clean, clean_edge, fused)
    if fault_mask is not None:
        out["fault_contrast"] = fault_contrast(fused, fault_mask)
    return out


def validation_metrics(fused: np.ndarray, raw: np.ndarray, edge: np.ndarray) -> dict[str, float]:
    """The subset of the suite scored on validation patches and panels (keys as logged under val/)."""
    return {"qabf": qabf(raw, edge, fused), "mi": fusion_mi(fused, raw, edge), "en": entropy(fused),
            "ssim_raw": ssim(fused, raw), "ssim_edge": ssim(fused, edge)}


# ---------------------------------------------------------------- on the device (validation): torch, batched
