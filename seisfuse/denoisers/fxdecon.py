"""f-x deconvolution (Canales 1984; Gulunay 1986): random-noise attenuation by spatial prediction per frequency.

Within a window of a section, every linear event is, at one temporal frequency, a complex
sinusoid across traces, and is predicted exactly by a short complex filter along the
traces; random noise is not. For each window (time x traces, overlapping, blended with
linear tapers) and each frequency, a forward and a backward prediction filter of
`length` taps are fitted by damped least squares (pre-whitening `mu` percent of the
mean zero-lag energy, as SeismicLab's `fx_decon` does) and the two predictions are
averaged (Gulunay's forward-backward scheme). Windows make curved and dipping events
locally linear. Written in numpy, vectorized over frequencies.
"""

from __future__ import annotations

import numpy as np


def window_starts(length: int, window: int, overlap: float) -> list[int]:
    """Starts of windows covering length, overlapping by about `overlap` of a window, the last one at the end."""
    if length <= window:
        return [0]
    step = max(1, int(round(window * (1.0 - overlap))))
    return sorted(set(list(range(0, length - window, step)) + [length - window]))


def taper(n: int, ramp: int) -> np.ndarray:
    """Weights rising linearly over `ramp` samples at both ends (never zero)."""
    i = np.arange(n, dtype=np.float64)
    return np.clip(np.minimum(i + 1, n - i) / max(ramp, 1), None, 1.0)


def predict_traces(block: np.ndarray, length: int, mu: float) -> np.ndarray:
    """The f-x forward-backward prediction of a (samples, traces) window."""
    n_t, n_x = block.shape
    length = min(length, (n_x - 1) // 2)
    if length < 1:
        return block.copy()
    n_f = 1 << int(np.ceil(np.log2(max(n_t, 2))))
    spec = np.fft.rfft(block, n=n_f, axis=0)  # (freqs, traces)
    pred = np.zeros_like(spec)
    count = np.zeros(n_x)
    taps = np.arange(1, length + 1)
    for direction in (1, -1):  # forward: predict trace k from k-1..k-L; backward: from k+1..k+L
        targets = np.arange(length, n_x) if direction == 1 else np.arange(0, n_x - length)
        idx = targets[:, None] - direction * taps[None, :]  # (targets, L)
        x = spec[:, idx]  # (freqs, targets, L)
        y = spec[:, targets]  # (freqs, targets)
        xh = np.conj(np.swapaxes(x, 1, 2))  # (freqs, L, targets)
        r = xh @ x
        damping = (mu / 100.0) * np.real(np.trace(r, axis1=1, axis2=2)) / length
        r += damping[:, None, None] * np.eye(length)
        r[damping == 0] += np.eye(length)  # a frequency with no energy: any filter predicts zero
        a = np.linalg.solve(r, (xh @ y[..., None]))  # (freqs, L, 1)
        pred[:, targets] += (x @ a)[..., 0]
        count[targets] += 1
    pred = np.where(count > 0, pred / np.maximum(count, 1), spec)
    return np.fft.irfft(pred, n=n_f, axis=0)[:n_t]


def fxdecon(img: np.ndarray, length: int = 4, mu: float = 1.0, window_traces: int = 32, window_samples: int = 128,
            overlap: float = 0.5) -> np.ndarray:
    """f-x deconvolution of a (samples, traces) image in [0, 1] (0.5 is zero amplitude), windowed and tapered."""
    if int(length) != length or length < 1:
        raise ValueError(f"length must be a positive integer, got {length}")
    if not mu >= 0:
        raise ValueError(f"mu must be >= 0, got {mu}")
    if window_traces < 3 or window_samples < 4:
        raise ValueError(f"windows must span at least 3 traces and 4 samples, got {window_traces} x {window_samples}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    x = np.asarray(img, dtype=np.float64) - 0.5
    n_t, n_x = x.shape
    wt, wx = min(int(window_samples), n_t), min(int(window_traces), n_x)
    out = np.zeros_like(x)
    weight = np.zeros_like(x)
    for t0 in window_starts(n_t, wt, overlap):
        wt_taper = taper(wt, int(wt * overlap))
        for x0 in window_starts(n_x, wx, overlap):
            w = wt_taper[:, None] * taper(wx, int(wx * overlap))[None, :]
            out[t0:t0 + wt, x0:x0 + wx] += predict_traces(x[t0:t0 + wt, x0:x0 + wx], int(length), float(mu)) * w
            weight[t0:t0 + wt, x0:x0 + wx] += w
    return np.clip(out / weight + 0.5, 0.0, 1.0).astype(np.float32)
