"""Edge detectors making magnitude maps: Sobel, Scharr, Laplacian, Canny."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from seisfuse.denoisers.filters import REFLECT, clip01
from seisfuse.edges.base import MAGNITUDE, EdgeOp, EdgeOpError, check_in_range, check_positive, register
from seisfuse.edges.sharpening import check_laplacian_ksize, laplacian, laplacian_kernel_max


def _deriv_max(ksize: int) -> float:
    """Largest derivative response of an image in [0, 1] to a Sobel kernel (ksize -1: Scharr)."""
    kd, ks = cv2.getDerivKernels(1, 0, ksize)
    return float(np.abs(kd).sum() / 2 * np.abs(ks).sum())


def gradient_xy(img: np.ndarray, ksize: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical derivatives (ksize -1: Scharr), reflected borders."""
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=ksize, borderType=REFLECT)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=ksize, borderType=REFLECT)
    return gx, gy


def _magnitude(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """sqrt(gx^2 + gy^2) with correctly rounded IEEE operations (same bits at any position)."""
    gx *= gx
    gy *= gy
    gx += gy
    return np.sqrt(gx, out=gx)


def _scaled_gradient(img: np.ndarray, ksize: int, gain: float) -> np.ndarray:
    """Gradient magnitude (ksize -1: Scharr) / its largest possible value, times gain, clipped to [0, 1]."""
    mag = _magnitude(*gradient_xy(img, ksize))
    mag *= np.float32(gain / (_deriv_max(ksize) * math.sqrt(2)))
    return clip01(mag)


@dataclass(frozen=True)
class _Detector(EdgeOp):
    output: ClassVar[str | None] = MAGNITUDE
    gain: float = 1.0

    def check(self) -> None:
        check_positive("gain", self.gain)


@register
@dataclass(frozen=True)
class Sobel(_Detector):
    """Sobel gradient magnitude / its largest possible value, times gain."""

    name: ClassVar[str] = "sobel"
    ksize: int = 3

    def check(self) -> None:
        super().check()
        if self.ksize not in (3, 5, 7):
            raise EdgeOpError(f"ksize must be 3, 5 or 7, got {self.ksize}")

    @property
    def halo(self) -> float:
        return self.ksize // 2

    def apply(self, img: np.ndarray) -> np.ndarray:
        return _scaled_gradient(img, self.ksize, self.gain)


@register
@dataclass(frozen=True)
class Scharr(_Detector):
    """Scharr gradient magnitude / its largest possible value, times gain."""

    name: ClassVar[str] = "scharr"

    @property
    def halo(self) -> float:
        return 1

    def apply(self, img: np.ndarray) -> np.ndarray:
        return _scaled_gradient(img, -1, self.gain)


@register
@dataclass(frozen=True)
class Laplacian(_Detector):
    """|Laplacian| / its largest possible value, times gain."""

    name: ClassVar[str] = "laplacian"
    ksize: int = 1

    def check(self) -> None:
        super().check()
        check_laplacian_ksize(self.ksize)

    @property
    def halo(self) -> float:
        return max(1, self.ksize // 2)

    def apply(self, img: np.ndarray) -> np.ndarray:
        lap = laplacian(img, self.ksize)
        out = np.abs(lap, out=lap)
        out *= np.float32(self.gain / laplacian_kernel_max(self.ksize))
        return clip01(out)


@register
@dataclass(frozen=True)
class Canny(EdgeOp):
    """Canny edges (Canny 1986) as 0/1; thresholds on the Sobel magnitude scaled to [0, 1] like `sobel`."""

    name: ClassVar[str] = "canny"
    output: ClassVar[str | None] = MAGNITUDE
    low: float = 0.05
    high: float = 0.15
    l2gradient: bool = True
    _SCALE: ClassVar[float] = 4096.0  # fixed-point scale of the derivatives handed to OpenCV

    def check(self) -> None:
        check_in_range("low", self.low, 0.0, 1.0)
        check_in_range("high", self.high, 0.0, 1.0)
        if self.low > self.high:
            raise EdgeOpError(f"low ({self.low}) must not exceed high ({self.high})")

    @property
    def halo(self) -> float:
        return math.inf  # hysteresis follows edges across the whole image

    def apply(self, img: np.ndarray) -> np.ndarray:
        gx, gy = gradient_xy(img, 3)
        unit = self._SCALE / (_deriv_max(3) * math.sqrt(2))  # normalized magnitude 1 -> _SCALE
        dx = np.round(gx * (unit / 2)).astype(np.int16)  # |gx| <= 4 -> |dx| <= 2 * _SCALE / sqrt(2) fits int16
        dy = np.round(gy * (unit / 2)).astype(np.int16)
        scale = self._SCALE / 2
        edges = cv2.Canny(dx, dy, self.low * scale, self.high * scale, L2gradient=self.l2gradient)
        return (edges > 0).astype(np.float32)
