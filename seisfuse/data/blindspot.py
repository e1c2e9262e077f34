"""Blind-spot masking for learning from noisy data alone (no clean section needed).

Noise2Void (Krull, Buchholz & Jug, CVPR 2019), applied to seismic by Birnie, Ravasi, Liu &
Alkhalifah, "The potential of self-supervised networks for random noise suppression in
seismic data", Artificial Intelligence in Geosciences 2, 2021: a few pixels of a noisy patch
are hidden (replaced by the value of a random neighbour), the network predicts the patch,
and the loss is taken on the hidden pixels only, against their noisy values. Since noise
that is independent from pixel to pixel cannot be predicted from the neighbours, the network
learns the signal. With `structured > 0` (StructN2V, Broaddus, Krull, Weigert, Schmidt &
Myers, ISBI 2020) the samples above and below each hidden pixel in its trace are hidden
too, and replacements come from other traces, for noise that is correlated along time.

The edge branch is recomputed from the masked raw window (with its halo), so no hidden
value reaches the network through either branch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BlindSpot:
    """How patches of real files are masked (keys under `data.blindspot`)."""

    fraction: float = 0.01  # of a patch's pixels hidden (and scored)
    window: int = 5  # replacements come from a window x window box around each hidden pixel
    structured: int = 0  # StructN2V: also hide this many samples above and below, in the same trace

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 0.25:
            raise ValueError(f"blindspot.fraction must be in (0, 0.25], got {self.fraction}")
        if self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"blindspot.window must be odd and >= 3, got {self.window}")
        if self.structured < 0:
            raise ValueError(f"blindspot.structured must be >= 0, got {self.structured}")


@dataclass
class Masking:
    """Which pixels of a patch are hidden and where their replacements come from (flat indices into the window)."""

    hidden: np.ndarray  # bool (H, W) in patch coordinates: the pixels scored
    covered: np.ndarray  # bool (window shape): every replaced pixel (hidden, and the structured extension)
    targets: np.ndarray  # flat window indices of the replaced pixels
    sources: np.ndarray  # flat window indices their values come from (never a replaced pixel)


def draw_masking(window_shape: tuple[int, int], patch_origin: tuple[int, int], patch: int, cfg: BlindSpot,
                 rng: np.random.Generator) -> Masking:
    """Hidden pixels inside the patch of a window (patch at patch_origin), and replacement sources for them."""
    h, w = window_shape
    y0, x0 = patch_origin
    n = max(1, int(round(cfg.fraction * patch * patch)))
    flat = rng.choice(patch * patch, size=min(n, patch * patch), replace=False)
    ys, xs = y0 + flat // patch, x0 + flat % patch
    covered = np.zeros(window_shape, dtype=bool)
    covered[ys, xs] = True
    for k in range(1, cfg.structured + 1):  # the trace's samples above and below each hidden pixel
        covered[np.clip(ys - k, 0, h - 1), xs] = True
        covered[np.clip(ys + k, 0, h - 1), xs] = True
    ty, tx = np.nonzero(covered)
    half = cfg.window // 2
    sy, sx = ty.copy(), tx.copy()
    todo = np.ones(len(ty), dtype=bool)
    for _ in range(64):  # rejection sampling: a source inside the window, not replaced itself (other trace if structured)
        if not todo.any():
            break
        dy = rng.integers(-half, half + 1, size=todo.sum())
        dx = rng.integers(-half, half + 1, size=todo.sum())
        cy, cx = np.clip(ty[todo] + dy, 0, h - 1), np.clip(tx[todo] + dx, 0, w - 1)
        ok = ~covered[cy, cx] & ((cx != tx[todo]) if cfg.structured else ((cy != ty[todo]) | (cx != tx[todo])))
        idx = np.flatnonzero(todo)[ok]
        sy[idx], sx[idx] = cy[ok], cx[ok]
        todo[idx] = False
    if todo.any():  # a crowded corner: any unreplaced pixel of another trace
        free = np.flatnonzero(~covered.ravel())
        pick = rng.choice(free, size=todo.sum())
        sy[todo], sx[todo] = pick // w, pick % w
    hidden = np.zeros((patch, patch), dtype=bool)
    hidden[ys - y0, xs - x0] = True
    return Masking(hidden, covered, ty * w + tx, sy * w + sx)


def apply_masking(window: np.ndarray, masking: Masking) -> np.ndarray:
    """The window with every replaced pixel set to its source's value (sources are never replaced themselves)."""
    out = np.array(window, dtype=np.float32, copy=True)
    flat = out.reshape(-1)
    flat[masking.targets] = np.asarray(window, dtype=np.float32).reshape(-1)[masking.sources]
    return out
