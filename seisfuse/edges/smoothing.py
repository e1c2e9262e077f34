"""Smoothing ops: gaussian, median, bilateral, box (the filters of `seisfuse.denoisers.filters`, as edge ops)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from seisfuse.denoisers import filters
from seisfuse.edges.base import EdgeOp, check_odd, check_positive, register


@register
@dataclass(frozen=True)
class Gaussian(EdgeOp):
    """Gaussian smoothing (radius ceil(truncate * sigma))."""

    name: ClassVar[str] = "gaussian"
    sigma: float = 1.0
    truncate: float = 4.0

    def check(self) -> None:
        check_positive("sigma", self.sigma)
        check_positive("truncate", self.truncate)

    @property
    def halo(self) -> float:
        return filters.gauss_radius(self.sigma, self.truncate)

    def apply(self, img: np.ndarray) -> np.ndarray:
        return filters.gaussian(img, self.sigma, self.truncate)


@dataclass(frozen=True)
class _Window(EdgeOp):
    """A filter over an odd size x size window."""

    size: int = 3

    def check(self) -> None:
        check_odd("size", self.size, 3)

    @property
    def halo(self) -> float:
        return self.size // 2


@register
@dataclass(frozen=True)
class Median(_Window):
    """Median filter over a size x size window (edge pixels replicated)."""

    name: ClassVar[str] = "median"

    def apply(self, img: np.ndarray) -> np.ndarray:
        return filters.median(img, self.size)


@register
@dataclass(frozen=True)
class Bilateral(EdgeOp):
    """Edge-preserving bilateral filter (Tomasi & Manduchi 1998); sigma_color on the [0, 1] scale."""

    name: ClassVar[str] = "bilateral"
    diameter: int = 5
    sigma_color: float = 0.1
    sigma_space: float = 2.0

    def check(self) -> None:
        check_odd("diameter", self.diameter, 3)
        check_positive("sigma_color", self.sigma_color)
        check_positive("sigma_space", self.sigma_space)

    @property
    def halo(self) -> float:
        return self.diameter // 2

    def apply(self, img: np.ndarray) -> np.ndarray:
        return filters.bilateral(img, self.diameter, self.sigma_color, self.sigma_space)


@register
@dataclass(frozen=True)
class Box(_Window):
    """Mean over a size x size window."""

    name: ClassVar[str] = "box"

    def apply(self, img: np.ndarray) -> np.ndarray:
        return filters.box(img, self.size)
