"""Edge ops: the base class, the registry and building an op from its config form.

Every op maps a float32 image in [0, 1] to a float32 image in [0, 1] of the same shape.
Outputs are scaled by a fixed rule (a clip, or a division by the largest value the op
can produce, times a user `gain`), never by a per-image min-max, so one value means
the same thing everywhere in a volume. Every op declares its `halo`: how many pixels
of context it needs for a patch computed with that margin to equal the same crop of
the op applied to the whole section (Canny's hysteresis is not local: infinite halo).
Borders are reflected (OpenCV REFLECT_101, scipy "mirror"), except the median
(replicated edge, as OpenCV does) and morphology (pixels outside the image are ignored).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from seisfuse.denoisers.filters import as_image

MAGNITUDE = "magnitude"  # output >= 0, background near 0 (edge maps)
AMPLITUDE = "amplitude"  # output centred on 0.5 like the normalized input (smoothed / sharpened sections)

REGISTRY: dict[str, type[EdgeOp]] = {}


class EdgeOpError(ValueError):
    """A wrong op name or parameter in an edge pipeline."""


def register(cls: type[EdgeOp]) -> type[EdgeOp]:
    """Add an op class to the registry under its `name`."""
    REGISTRY[cls.name] = cls
    return cls


def check_odd(name: str, value: int, minimum: int = 1) -> None:
    if int(value) != value or value < minimum or value % 2 == 0:
        raise EdgeOpError(f"{name} must be an odd integer >= {minimum}, got {value}")


def check_positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise EdgeOpError(f"{name} must be a positive number, got {value!r}")


def check_in_range(name: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, int | float) and lo <= value <= hi):
        raise EdgeOpError(f"{name} must be in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class EdgeOp:
    """Base of all ops: parameters are dataclass fields, validated on construction."""

    name: ClassVar[str] = ""
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
        return self.apply(as_image(img))

    def to_dict(self) -> dict[str, Any]:
        """{'op': name, **parameters}, the form used in YAML configs."""
        return {"op": self.name, **asdict(self)}

    def describe(self) -> str:
        """Short text such as 'gaussian(sigma=2)': parameters that differ from their defaults."""
        changed = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items())
        return f"{self.name}({params})"


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
