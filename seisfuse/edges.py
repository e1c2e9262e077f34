"""The edge branch: a registry of named image ops and `EdgePipeline`, a list of them built from config.

Every op maps a float32 image in [0, 1] to a float32 image in [0, 1] of the same shape.
Outputs are scaled by a fixed rule (a clip, or a division by the largest value the op
can produce, times a user `gain`), never by a per-image min-max, so one value means
the same thing everywhere in a volume. Every op declares its `halo`: how many pixels
of context it needs for a patch computed with that margin to equal the same crop of
the op applied to the whole section (Canny's hysteresis is not local: infinite halo).

Implemented with OpenCV (fast on CPU); borders are reflected (OpenCV REFLECT_101,
scipy "mirror"), except the median (replicated edge, as OpenCV does) and morphology
(pixels outside the image are ignored, as OpenCV does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar

import cv2
import numpy as np
from scipy.ndimage import median_filter

REFLECT = cv2.BORDER_REFLECT_101
MAGNITUDE = "magnitude"  # output >= 0, background near 0 (edge maps)
AMPLITUDE = "amplitude"  # output centred on 0.5 like the normalized input (smoothed / sharpened sections)

REGISTRY: dict[str, type[EdgeOp]] = {}
_ALIGN = 16  # columns; OpenCV's vector loops and scalar tails round differently in the last bit


class EdgeOpError(ValueError):
    """A wrong op name or parameter in an edge pipeline."""


def register(cls: type[EdgeOp]) -> type[EdgeOp]:
    """Add an op class to the registry under its `name`."""
    REGISTRY[cls.name] = cls
    return cls


def _as_image(img: np.ndarray) -> np.ndarray:
    """A C-contiguous 2D float32 view or copy of img."""
    img = np.ascontiguousarray(img, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"edge ops take 2D images, got shape {img.shape}")
    return img


def _clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] in place."""
    return np.clip(x, 0.0, 1.0, out=x)


def _odd(name: str, value: int, minimum: int = 1) -> None:
    if int(value) != value or value < minimum or value % 2 == 0:
        raise EdgeOpError(f"{name} must be an odd integer >= {minimum}, got {value}")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise EdgeOpError(f"{name} must be a positive number, got {value!r}")


def _in_range(name: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, int | float) and lo <= value <= hi):
        raise EdgeOpError(f"{name} must be in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class EdgeOp:
    """Base of all ops: parameters are dataclass fields, validated on construction."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    output: ClassVar[str | None] = None  # None: same kind as the input

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise EdgeOpError for invalid parameters."""

    @property
    def halo(self) -> float:
        """Pixels of context needed on each side for exact results on a patch."""
        raise NotImplementedError

    def apply(self, img: np.ndarray) -> np.ndarray:
        """The op on a float32 image in [0, 1]."""
        raise NotImplementedError

    def __call__(self, img: np.ndarray) -> np.ndarray:
        return self.apply(_as_image(img))

    def to_dict(self) -> dict[str, Any]:
        """{'op': name, **parameters}, the form used in YAML configs."""
        return {"op": self.name, **asdict(self)}

    def describe(self) -> str:
        """Short text such as 'gaussian(sigma=2)': parameters that differ from their defaults."""
        changed = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items())
        return f"{self.name}({params})"


# ---------------------------------------------------------------- smoothing
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
    family: ClassVar[str] = "smoothing"
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

    family: ClassVar[str] = "smoothing"
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
        return median_filter(img, size=self.size, mode="nearest")


@register
@dataclass(frozen=True)
class Bilateral(EdgeOp):
    """Edge-preserving bilateral filter (Tomasi & Manduchi 1998); sigma_color on the [0, 1] scale."""

    name: ClassVar[str] = "bilateral"
    family: ClassVar[str] = "smoothing"
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


# ---------------------------------------------------------------- sharpening
@register
@dataclass(frozen=True)
class Unsharp(EdgeOp):
    """Unsharp mask: img + amount * (img - gaussian(img, sigma)), clipped to [0, 1]."""

    name: ClassVar[str] = "unsharp"
    family: ClassVar[str] = "sharpening"
    sigma: float = 1.0
    amount: float = 1.0
    truncate: float = 4.0

    def check(self) -> None:
        _positive("sigma", self.sigma)
        _in_range("amount", self.amount, 0.0, 100.0)
        _positive("truncate", self.truncate)

    @property
    def halo(self) -> float:
        return _gauss_radius(self.sigma, self.truncate)

    def apply(self, img: np.ndarray) -> np.ndarray:
        blur = gaussian_blur(img, self.sigma, self.truncate)
        out = cv2.addWeighted(img, 1.0 + self.amount, blur, -self.amount, 0.0)
        return _clip01(out)


def _laplacian_kernel_max(ksize: int) -> float:
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
    family: ClassVar[str] = "sharpening"
    strength: float = 0.5
    ksize: int = 1

    def check(self) -> None:
        _in_range("strength", self.strength, 0.0, 100.0)
        if self.ksize not in (1, 3, 5, 7):
            raise EdgeOpError(f"ksize must be 1, 3, 5 or 7, got {self.ksize}")

    @property
    def halo(self) -> float:
        return max(1, self.ksize // 2)

    def apply(self, img: np.ndarray) -> np.ndarray:
        lap = cv2.Laplacian(img, cv2.CV_32F, ksize=self.ksize, borderType=REFLECT)
        return _clip01(cv2.addWeighted(img, 1.0, lap, -self.strength, 0.0))


# ---------------------------------------------------------------- morphology
SHAPES = {"rect": cv2.MORPH_RECT, "ellipse": cv2.MORPH_ELLIPSE, "cross": cv2.MORPH_CROSS}


@dataclass(frozen=True)
class _Morph(EdgeOp):
    """Grey-level morphology with a structuring element of a shape and size."""

    family: ClassVar[str] = "morphology"
    cv_op: ClassVar[int] = -1
    reach: ClassVar[int] = 1  # structuring-element radii the op reaches per iteration (2 for open/close)
    size: int = 3
    shape: str = "ellipse"
    iterations: int = 1
    gain: float = 1.0

    def check(self) -> None:
        _odd("size", self.size, 3)
        if self.shape not in SHAPES:
            raise EdgeOpError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if int(self.iterations) != self.iterations or self.iterations < 1:
            raise EdgeOpError(f"iterations must be an integer >= 1, got {self.iterations}")
        _positive("gain", self.gain)

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
        return _clip01(out)


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
        return _clip01(cv2.addWeighted(img, 1.0, top, float(self.gain), 0.0))


# ---------------------------------------------------------------- edge detectors
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
    return _clip01(mag)


@dataclass(frozen=True)
class _Detector(EdgeOp):
    family: ClassVar[str] = "edge detector"
    output: ClassVar[str | None] = MAGNITUDE
    gain: float = 1.0

    def check(self) -> None:
        _positive("gain", self.gain)


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
        if self.ksize not in (1, 3, 5, 7):
            raise EdgeOpError(f"ksize must be 1, 3, 5 or 7, got {self.ksize}")

    @property
    def halo(self) -> float:
        return max(1, self.ksize // 2)

    def apply(self, img: np.ndarray) -> np.ndarray:
        lap = cv2.Laplacian(img, cv2.CV_32F, ksize=self.ksize, borderType=REFLECT)
        out = np.abs(lap, out=lap)
        out *= np.float32(self.gain / _laplacian_kernel_max(self.ksize))
        return _clip01(out)


@register
@dataclass(frozen=True)
class Canny(EdgeOp):
    """Canny edges (Canny 1986) as 0/1; thresholds on the Sobel magnitude scaled to [0, 1] like `sobel`."""

    name: ClassVar[str] = "canny"
    family: ClassVar[str] = "edge detector"
    output: ClassVar[str | None] = MAGNITUDE
    low: float = 0.05
    high: float = 0.15
    l2gradient: bool = True
    _SCALE: ClassVar[float] = 4096.0  # fixed-point scale of the derivatives handed to OpenCV

    def check(self) -> None:
        _in_range("low", self.low, 0.0, 1.0)
        _in_range("high", self.high, 0.0, 1.0)
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


# ---------------------------------------------------------------- pipeline
def _coerce(cls: type[EdgeOp], key: str, value: Any) -> Any:
    """Accept YAML numbers of the wrong numeric kind (1 for 1.0, 3.0 for 3)."""
    f = {f.name: f for f in fields(cls)}[key]
    if f.type in ("int",) and isinstance(value, float) and value.is_integer():
        return int(value)
    if f.type in ("float",) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def build_op(spec: Mapping[str, Any] | str) -> EdgeOp:
    """One op from {'op': name, **params} (or a bare name for the defaults)."""
    if isinstance(spec, str):
        spec = {"op": spec}
    if not isinstance(spec, Mapping) or "op" not in spec:
        raise EdgeOpError(f"each edge op needs an 'op' key, e.g. {{op: gaussian, sigma: 1}}; got {spec!r}")
    name = spec["op"]
    if name not in REGISTRY:
        raise EdgeOpError(f"unknown edge op {name!r}; valid ops: {', '.join(sorted(REGISTRY))}")
    cls = REGISTRY[name]
    valid = [f.name for f in fields(cls)]
    params = {k: v for k, v in spec.items() if k != "op"}
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise EdgeOpError(f"edge op {name!r}: unknown parameter {', '.join(unknown)}; valid: {', '.join(valid) or 'none'}")
    try:
        return cls(**{k: _coerce(cls, k, v) for k, v in params.items()})
    except EdgeOpError as exc:
        raise EdgeOpError(f"edge op {name!r}: {exc}") from None


def op_signature(name: str) -> str:
    """'gaussian(sigma=1.0, truncate=4.0)': an op with its parameters and defaults, for help texts."""
    cls = REGISTRY[name]
    parts = [f"{f.name}={f.default!r}" for f in fields(cls) if f.default is not MISSING]
    return f"{name}({', '.join(parts)})"


class EdgePipeline:
    """A sequence of edge ops applied in order: the edge branch of the fusion."""

    def __init__(self, ops: Iterable[EdgeOp]) -> None:
        self.ops = list(ops)

    @classmethod
    def from_config(cls, spec: Sequence[Mapping[str, Any] | str] | None) -> EdgePipeline:
        """Build from the YAML list form, e.g. [{op: gaussian, sigma: 1}, {op: unsharp, amount: 1.5}]."""
        if spec is None:
            spec = DEFAULT_PIPELINE
        if isinstance(spec, Mapping) or isinstance(spec, str):
            raise EdgeOpError("the edge pipeline must be a list of ops, e.g. [{op: gaussian, sigma: 1}]")
        ops = []
        for i, item in enumerate(spec):
            try:
                ops.append(build_op(item))
            except EdgeOpError as exc:
                raise EdgeOpError(f"edge pipeline step {i + 1}: {exc}") from None
        return cls(ops)

    def to_config(self) -> list[dict[str, Any]]:
        """The YAML list form (stored in checkpoints)."""
        return [op.to_dict() for op in self.ops]

    @property
    def halo(self) -> float:
        """Context needed for exact patches: the sum of the ops' halos (inf if any op is global)."""
        return float(sum(op.halo for op in self.ops))

    @property
    def output(self) -> str:
        """'magnitude' if the last kind-changing op makes an edge map, else 'amplitude'."""
        kind = AMPLITUDE
        for op in self.ops:
            kind = op.output or kind
        return kind

    def describe(self) -> str:
        """One line: 'gaussian(sigma=1) > unsharp(...)'."""
        return " > ".join(op.describe() for op in self.ops) or "identity"

    def __call__(self, img: np.ndarray) -> np.ndarray:
        out = _as_image(img)
        if not self.ops:
            return out.copy()
        for op in self.ops:
            out = op.apply(out)
        return out

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"EdgePipeline({self.describe()})"

    def region_bounds(self, shape: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> tuple[int, int, int, int]:
        """The window (ya, yb, xa, xb) of an image of `shape` to process for exact output on [y0:y1, x0:x1]."""
        h, w = shape
        if not math.isfinite(self.halo):
            return 0, h, 0, w
        m = int(self.halo)
        ya, yb = max(0, y0 - m), min(h, y1 + m)
        # columns aligned to the SIMD block so OpenCV rounds every kept pixel exactly as on the whole image
        xa = max(0, x0 - m) // _ALIGN * _ALIGN
        xb = min(w, xa + -(-(min(w, x1 + m) - xa) // _ALIGN) * _ALIGN)
        return ya, yb, xa, xb

    def apply_region(self, image: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The pipeline's output on image[y0:y1, x0:x1], computed from that window plus the halo only."""
        ya, yb, xa, xb = self.region_bounds(image.shape, y0, y1, x0, x1)
        return self.crop_window(self(image[ya:yb, xa:xb]), (ya, xa), y0, y1, x0, x1)

    @staticmethod
    def crop_window(window_out: np.ndarray, origin: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Cut [y0:y1, x0:x1] (image coordinates) out of a processed window that starts at origin."""
        ya, xa = origin
        return window_out[y0 - ya: y1 - ya, x0 - xa: x1 - xa]


#: The default edge branch: denoise, sharpen, then morphological contrast. It keeps polarity (zero
#: amplitude stays at 0.5), so the fused section is still an amplitude section.
DEFAULT_PIPELINE: list[dict[str, Any]] = [
    {"op": "gaussian", "sigma": 1.0},
    {"op": "unsharp", "sigma": 2.0, "amount": 1.5},
    {"op": "morph_contrast", "size": 5, "shape": "ellipse", "gain": 1.0},
]
