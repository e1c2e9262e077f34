"""Sharpening ops: unsharp mask, Laplacian sharpening."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from seisfuse.denoisers.filters import REFLECT, clip01, gauss_radius, gaussian_blur
from seisfuse.edges.base import EdgeOp, EdgeOpError, check_in_range, check_positive, register


@register
@dataclass(frozen=True)
class Unsharp(EdgeOp):
    """Unsharp mask: img + amount * (img - gaussian(img, sigma)), clipped to [0, 1]."""

    name: ClassVar[str] = "unsharp"
    sigma: float = 1.0
    amount: float = 1.0
    truncate: float = 4.0

    def check(self) -> None:
        check_positive("sigma", self.sigma)
        check_in_range("amount", self.amount, 0.0, 100.0)
        check_positive("truncate", self.truncate)

    @property
    def halo(self) -> float:
        return gauss_radius(self.sigma, self.truncate)

    def apply(self, img: np.ndarray) -> np.ndarray:
        blur = gaussian_blur(img, self.sigma, self.truncate)
        out = cv2.addWeighted(img, 1.0 + self.amount, blur, -self.amount, 0.0)
        return clip01(out)


LAPLACIAN_KSIZES = (1, 3, 5, 7)


def check_laplacian_ksize(ksize: int) -> None:
    """Raise EdgeOpError unless ksize is an aperture cv2.Laplacian takes."""
    if ksize not in LAPLACIAN_KSIZES:
        raise EdgeOpError(f"ksize must be 1, 3, 5 or 7, got {ksize}")


def laplacian(img: np.ndarray, ksize: int) -> np.ndarray:
    """cv2.Laplacian of a float32 image with reflected borders; its halo is max(1, ksize // 2)."""
    return cv2.Laplacian(img, cv2.CV_32F, ksize=ksize, borderType=REFLECT)


def laplacian_kernel_max(ksize: int) -> float:
    """Largest |Laplacian| of an image in [0, 1]: half the sum of |kernel| (kernel sums to 0)."""
    if ksize == 1:
        return 4.0
    kx, ky = cv2.getDerivKernels(2, 0, ksize)
    kernel = np.outer(ky, kx) + np.outer(kx, ky)
    return float(np.abs(kernel).sum() / 2)


@register
@dataclass(frozen=True)
class LaplacianSharpen(EdgeOp):
    """Laplacian sharpening: img - strength * Laplacian(img), clipped to [0, 1]."""

    name: ClassVar[str] = "laplacian_sharpen"
    strength: float = 0.5
    ksize: int = 1

    def check(self) -> None:
        check_in_range("strength", self.strength, 0.0, 100.0)
        check_laplacian_ksize(self.ksize)

    @property
    def halo(self) -> float:
        return max(1, self.ksize // 2)

    def apply(self, img: np.ndarray) -> np.ndarray:
        return clip01(cv2.addWeighted(img, 1.0, laplacian(img, self.ksize), -self.strength, 0.0))
