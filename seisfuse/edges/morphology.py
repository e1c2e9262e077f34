"""Grey-level morphology ops (OpenCV): erode, dilate, open, close, gradient, top-hats, top-hat contrast."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from seisfuse.denoisers.filters import clip01
from seisfuse.edges.base import MAGNITUDE, EdgeOp, EdgeOpError, check_odd, check_positive, register

SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}


@dataclass(frozen=True)
class _Morph(EdgeOp):
    """Grey-level morphology with a structuring element of a shape and size."""

    cv_op: ClassVar[int] = -1
    reach: ClassVar[int] = 1  # structuring-element radii the op reaches per iteration (2 for open/close)
    size: int = 3
    shape: str = "ellipse"
    iterations: int = 1
    gain: float = 1.0

    def check(self) -> None:
        check_odd("size", self.size, 3)
        if self.shape not in SHAPES:
            raise EdgeOpError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if int(self.iterations) != self.iterations or self.iterations < 1:
            raise EdgeOpError(f"iterations must be an integer >= 1, got {self.iterations}")
        check_positive("gain", self.gain)

    @property
    def kernel(self) -> np.ndarray:
        """The structuring element (uint8 0/1)."""
        return cv2.getStructuringElement(SHAPES[self.shape], (self.size, self.size))

    @property
    def halo(self) -> float:
        return self.reach * (self.size // 2) * self.iterations

    def apply(self, img: np.ndarray) -> np.ndarray:
        out = cv2.morphologyEx(img, self.cv_op, self.kernel, iterations=self.iterations)
        if self.gain != 1.0:
            out *= np.float32(self.gain)
        return clip01(out)


def _morph(name: str, cv_op: int, reach: int, output: str | None, doc: str) -> type[EdgeOp]:
    cls = type(name.title().replace("_", ""), (_Morph,), {
        "__doc__": doc, "name": name, "cv_op": cv_op, "reach": reach, "output": output,
        "__annotations__": {"name": ClassVar[str], "cv_op": ClassVar[int], "reach": ClassVar[int],
                            "output": ClassVar[str | None]}})
    return register(dataclass(frozen=True)(cls))


Erode = _morph("erode", cv2.MORPH_ERODE, 1, None, "Grey erosion: minimum over the structuring element.")
Dilate = _morph("dilate", cv2.MORPH_DILATE, 1, None, "Grey dilation: maximum over the structuring element.")
Open = _morph("open", cv2.MORPH_OPEN, 2, None, "Opening: erosion then dilation (removes bright details).")
Close = _morph("close", cv2.MORPH_CLOSE, 2, None, "Closing: dilation then erosion (removes dark details).")
MorphGradient = _morph("morph_gradient", cv2.MORPH_GRADIENT, 1, MAGNITUDE,
                       "Morphological gradient: dilation - erosion, times gain.")
TopHat = _morph("tophat", cv2.MORPH_TOPHAT, 2, MAGNITUDE, "White top-hat: image - opening, times gain.")
BlackHat = _morph("blackhat", cv2.MORPH_BLACKHAT, 2, MAGNITUDE, "Black top-hat: closing - image, times gain.")


@register
@dataclass(frozen=True)
class MorphContrast(_Morph):
    """Top-hat contrast enhancement: img + gain * (white top-hat - black top-hat), clipped; keeps polarity.

    Peaks brighter and troughs darker than their surroundings within the structuring
    element are pushed further out (e.g. Hassanpour et al., "Using morphological transforms
    to enhance the contrast of medical images", Egyptian J. Radiology and Nuclear Medicine, 2015).
    """

    name: ClassVar[str] = "morph_contrast"
    reach: ClassVar[int] = 2

    def apply(self, img: np.ndarray) -> np.ndarray:
        kernel = self.kernel
        top = cv2.morphologyEx(img, cv2.MORPH_TOPHAT, kernel, iterations=self.iterations)
        black = cv2.morphologyEx(img, cv2.MORPH_BLACKHAT, kernel, iterations=self.iterations)
        top -= black
        return clip01(cv2.addWeighted(img, 1.0, top, float(self.gain), 0.0))
