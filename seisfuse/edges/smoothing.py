"""Smoothing ops: gaussian, median, bilateral, box."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from seisfuse.edges.base import REFLECT, EdgeOp, _clip01, _odd, _positive, register


def _gauss_radius(sigma: float, truncate: float) -> int:
    return max(1, int(math.ceil(truncate * sigma)))


def gaussian_blur(img: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur with radius ceil(truncate * sigma), reflected borders."""
    r = _gauss_radius(sigma, truncate)
    return cv2.GaussianBlur(img, (2 * r + 1, 2 * r + 1), sigmaX=sigma, sigmaY=sigma, borderType=REFLECT)


@register
@dataclass(frozen=True)
class Gaussian(EdgeOp):
    """Gaussian smoothing (radius ceil(truncate * sigma))."""

    name: ClassVar[str] = "gaussian"
    sigma: float = 1.0
    truncate: float = 4.0

    def check(self) -> None:
        _positive("sigma", self.sigma)
        _positive("truncate", self.truncate)

    @property
    def halo(self) -> float:
        return _gauss_radius(self.sigma, self.truncate)

    def apply(self, img: np.ndarray) -> np.ndarray:
        return _clip01(gaussian_blur(img, self.sigma, self.truncate))


@dataclass(frozen=True)
class _Window(EdgeOp):
    """A filter over an odd size x size window."""

    size: int = 3

    def check(self) -> None:
        _odd("size", self.size, 3)

    @property
    def halo(self) -> float:
        return self.size // 2


@register
@dataclass(frozen=True)
class Median(_Window):
    """Median filter over a size x size window (edge pixels replicated)."""

    name: ClassVar[str] = "median"

    def apply(self, img: np.ndarray) -> np.ndarray:
        if self.size <= 5:  # OpenCV's float32 median supports 3 and 5
            return cv2.medianBlur(img, self.size)
        from scipy.ndimage import median_filter  # imported here: scipy.ndimage costs 0.3 s of every start-up

        return median_filter(img, size=self.size, mode="nearest")


@register
@dataclass(frozen=True)
class Bilateral(EdgeOp):
    """Edge-preserving bilateral filter (Tomasi & Manduchi 1998); sigma_color on the [0, 1] scale."""

    name: ClassVar[str] = "bilateral"
    diameter: int = 5
    sigma_color: float = 0.1
    sigma_space: float = 2.0

    def check(self) -> None:
        _odd("diameter", self.diameter, 3)
        _positive("sigma_color", self.sigma_color)
        _positive("sigma_space", self.sigma_space)

    @property
    def halo(self) -> float:
        return self.diameter // 2

    def apply(self, img: np.ndarray) -> np.ndarray:
        out = cv2.bilateralFilter(img, self.diameter, self.sigma_color, self.sigma_space, borderType=REFLECT)
        return _clip01(out)


@register
@dataclass(frozen=True)
class Box(_Window):
    """Mean over a size x size window."""

    name: ClassVar[str] = "box"

    def apply(self, img: np.ndarray) -> np.ndarray:
        return _clip01(cv2.blur(img, (self.size, self.size), borderType=REFLECT))
