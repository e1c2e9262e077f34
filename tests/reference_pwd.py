"""A line-by-line transliteration (tests only) of the reference's plane-wave flattening.

`pw_flatten.m` of github.com/Shanghua-Zhang/structure-oriented-BM3D (structure-oriented BM3D),
which sprays each trace of a window onto its first trace along the local slopes with
`str_pwspray_lop2d.m` (Chen, Wang et al., seistr: plane-wave prediction by Fomel's all-pass
plane-wave destruction filters, one banded solve per trace step). Loops and 1-based indexing kept
as in the MATLAB, so the two read side by side; slow, for small test sections only.
"""

from __future__ import annotations

import numpy as np


def passfilter(p: float, nw: int) -> np.ndarray:
    """All-pass plane-wave destruction filter coefficients for slope p (passfilter in str_pwspray_lop2d.m)."""
    n = nw * 2
    b = np.zeros(n + 1)
    for k in range(n + 1):
        bk = 1.0
        for j in range(n):
            if j < n - k:
                bk *= (k + j + 1.0) / (2 * (2 * j + 1) * (j + 1))
            else:
                bk *= 1.0 / (2 * (2 * j + 1))
        b[k] = bk
    a = np.zeros(n + 1)
    for k in range(n + 1):
        ak = b[k]
        for j in range(n):
            if j < n - k:
                ak *= n - j - p
            else:
                ak *= p + j + 1
        a[k] = ak
    return a


def regularization(n1: int, nw: int, eps: float, eps2: float) -> tuple[np.ndarray, np.ndarray]:
    """diag and offd of the regularization (regularization in str_pwspray_lop2d.m)."""
    nb = 2 * nw
    diag = np.full(n1, 6 * eps)
    offd = np.zeros((n1, nb))
    offd[:, 0] = -4 * eps
    offd[:, 1] = eps
    diag[0] = eps2 + eps
    diag[1] = eps2 + 5 * eps
    diag[n1 - 1] = eps2 + eps
    diag[n1 - 2] = eps2 + 5 * eps
    offd[0, 0] = -2 * eps
    offd[n1 - 2, 0] = -2 * eps
    return diag, offd


def pwd_define(forw: bool, diag: np.ndarray, offd: np.ndarray, n1: int, nw: int,
               pp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filter rows w.a and the banded normal matrix (pwd_define in str_pwspray_lop2d.m)."""
    na = 2 * nw + 1
    a = np.zeros((n1, na))
    for i in range(n1):
        b = passfilter(pp[i], nw)
        for j in range(na):
            a[i, j] = b[na - 1 - j] if forw else b[j]
    for i in range(n1):
        for j in range(na):
            k = i + j - nw
            if nw <= k < n1 - nw:
                diag[i] += a[k, j] * a[k, j]
        for m in range(2 * nw):
            for j in range(m + 1, na):
                k = i + j - nw
                if nw <= k < n1 - nw:
                    offd[i, m] += a[k, j - m - 1] * a[k, j]
    return a, diag, offd


def pwd_set(a: np.ndarray, nw: int, inp: np.ndarray) -> np.ndarray:
    """A^T A applied to inp (pwd_set in str_pwspray_lop2d.m)."""
    n, na = a.shape
    tmp = np.zeros(n)
    for i in range(nw, n - nw):
        for j in range(na):
            tmp[i] += a[i, j] * inp[i + j - nw]
    out = np.zeros(n)
    for i in range(n):
        for j in range(na):
            k = i + j - nw
            if nw <= k < n - nw:
                out[i] += a[k, j] * tmp[k]
    return out


def banded_solve(n: int, band: int, diag: np.ndarray, offd: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LDL^T solve of a symmetric banded system (banded_solve in str_pwspray_lop2d.m)."""
    d = np.zeros(n)
    o = np.zeros((n - 1, band))
    for k in range(n):
        t = diag[k]
        for m in range(min(k, band)):
            t -= o[k - m - 1, m] * o[k - m - 1, m] * d[k - m - 1]
        d[k] = t
        for nn in range(min(n - k - 1, band)):
            t = offd[k, nn]
            for m in range(min(k, band - nn - 1)):
                t -= o[k - m - 1, m] * o[k - m - 1, nn + m + 1] * d[k - m - 1]
            o[k, nn] = t / d[k]
    b = b.copy()
    for k in range(1, n):
        t = b[k]
        for m in range(min(k, band)):
            t -= o[k - m - 1, m] * b[k - m - 1]
        b[k] = t
    for k in range(n - 1, -1, -1):
        t = b[k] / d[k]
        for m in range(min(n - k - 1, band)):
            t -= o[k, m] * b[k + m + 1]
        b[k] = t
    return b


def predict_step(e: float, nw: int, forw: bool, pp: np.ndarray, trace: np.ndarray) -> np.ndarray:
    """One trace predicted to its neighbour along slopes pp (predict_step in str_pwspray_lop2d.m)."""
    n1 = len(trace)
    diag, offd = regularization(n1, nw, e, e)
    a, diag, offd = pwd_define(forw, diag, offd, n1, nw, pp)
    t0, t1, t2, t3 = trace[0], trace[1], trace[n1 - 2], trace[n1 - 1]
    out = pwd_set(a, nw, trace)
    out[0] += e * t0
    out[1] += e * t1
    out[n1 - 2] += e * t2
    out[n1 - 1] += e * t3
    return banded_solve(n1, 2 * nw, diag, offd, out)


def pwspray(u1: np.ndarray, dip: np.ndarray, nr: int, order: int, eps: float) -> np.ndarray:
    """u (n1, 2 nr + 1, n2): every trace and its predictions onto its neighbours (str_pwspray_lop2d.m)."""
    n1, n2 = u1.shape
    ns, ns2 = nr, 2 * nr + 1
    u = np.zeros((n1, ns2, n2))
    e = eps * eps
    for i in range(n2):
        trace = u1[:, i].copy()
        u[:, ns, i] += trace
        for step in range(ns):  # predict forward
            ip = i - step - 1
            if ip < 0:
                break
            trace = predict_step(e, order, False, dip[:, ip], trace)
            u[:, ns - step - 1, ip] += trace
        trace = u1[:, i].copy()
        for step in range(ns):  # predict backward
            ip = i + step + 1
            if ip >= n2:
                break
            trace = predict_step(e, order, True, dip[:, ip - 1], trace)
            u[:, ns + step + 1, ip] += trace
    return u


def pw_flatten(n_signal: np.ndarray, dip: np.ndarray, order: int = 2, eps: float = 0.01) -> np.ndarray:
    """Every trace of a window moved onto its first trace along the slopes (pw_flatten.m)."""
    mirrored = np.concatenate([n_signal[:, ::-1][:, :-1], n_signal], axis=1)
    dip2 = np.concatenate([-dip[:, ::-1][:, :-1], dip], axis=1)
    n2 = mirrored.shape[1]
    u = pwspray(mirrored, dip2, (n2 - 1) // 2, order, eps)
    return u[:, (n2 - 1) // 2:, (n2 - 1) // 2]
