"""Local smoothing filters of an image in [0, 1] on OpenCV: Gaussian, median, bilateral, box.

One implementation each, used both as classical denoisers of the raw section
(`seisfuse baseline --method gaussian|median|bilateral`) and as edge-branch ops
(`seisfuse.edges.smoothing`). Borders are reflected (OpenCV's REFLECT_101), except the
median, which replicates the edge as OpenCV does. Outputs are clipped to [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REFLECT = cv2.BORDER_REFLECT_101


def as_image(img: np.ndarray) -> np.ndarray:
    """A C-contiguous 2D float32 view or copy of img."""
    img = np.ascontiguousarray(img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"filters take 2D images, got shape {img.shape}")
    return img


def clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] in place."""
    return np.clip(x, 0.0, 1.0, out=x)


def gauss_radius(sigma: float, truncate: float = 4.0) -> int:
    """Kernel radius of a Gaussian: ceil(truncate * sigma), at least 1."""
    return max(1, int(math.ceil(truncate * sigma)))


def gaussian_blur(img: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur with radius ceil(truncate * sigma), reflected borders (not clipped)."""
    r = gauss_radius(sigma, truncate)
    return cv2.GaussianBlur(as_image(img), (2 * r + 1, 2 * r + 1), sigmaX=sigma, sigmaY=sigma, borderType=REFLECT)


def gaussian(img: np.ndarray, sigma: float = 1.0, truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing, clipped to [0, 1]."""
    if not sigma > 0 or not truncate > 0:
        raise ValueError(f"sigma and truncate must be positive, got {sigma}, {truncate}")
    return clip01(gaussian_blur(img, sigma, truncate))


def median(img: np.ndarray, size: int = 3) -> np.ndarray:
    """Median over a size x size window (edge pixels replicated)."""
    if int(size) != size or size < 3 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer >= 3, got {size}")
    img = as_image(img)
    if size <= 5:  # OpenCV's float32 median supports 3 and 5
        return cv2.medianBlur(img, int(size))
    from scipy.ndimage import median_filter  # imported here: scipy.ndimage costs 0.3 s of every start-up

    return median_filter(img, size=int(size), mode="nearest")


def bilateral(img: np.ndarray, diameter: int = 5, sigma_color: float = 0.1, sigma_space: float = 2.0) -> np.ndarray:
    """Edge-preserving bilateral filter (Tomasi & Manduchi 1998); sigma_color on the [0, 1] scale."""
    if int(diameter) != diameter or diameter < 3 or diameter % 2 == 0:
        raise ValueError(f"diameter must be an odd integer >= 3, got {diameter}")
    if not sigma_color > 0 or not sigma_space > 0:
        raise ValueError(f"sigma_color and sigma_space must be positive, got {sigma_color}, {sigma_space}")
    out = cv2.bilateralFilter(as_image(img), int(diameter), sigma_color, sigma_space, borderType=REFLECT)
    return clip01(out)


def box(img: np.ndarray, size: int = 3) -> np.ndarray:
    """Mean over a size x size window, reflected borders."""
    return clip01(cv2.blur(as_image(img), (int(size), int(size)), borderType=REFLECT))
