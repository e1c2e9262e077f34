"""EdgePipeline: a list of registered ops applied in order (the edge branch), with exact halo'd patches."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from seisfuse.edges.base import AMPLITUDE, EdgeOp, EdgeOpError, as_image, build_op

_ALIGN = 16  # columns; OpenCV's vector loops and scalar tails round differently in the last bit

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
        out = as_image(img)
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

    def apply_window(self, window: np.ndarray, origin: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The pipeline's output on [y0:y1, x0:x1] (image coordinates) from the window given by region_bounds."""
        return self.crop_window(self(window), origin, y0, y1, x0, x1)

    def apply_region(self, image: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The pipeline's output on image[y0:y1, x0:x1], computed from that window plus the halo only."""
        ya, yb, xa, xb = self.region_bounds(image.shape, y0, y1, x0, x1)
        return self.apply_window(image[ya:yb, xa:xb], (ya, xa), y0, y1, x0, x1)

    @staticmethod
    def crop_window(window_out: np.ndarray, origin: tuple[int, int], y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Cut [y0:y1, x0:x1] (image coordinates) out of a processed window that starts at origin."""
        ya, xa = origin
        return window_out[y0 - ya: y1 - ya, x0 - xa: x1 - xa]


#: The default edge branch: an edge-preserving bilateral filter (small sigma_color, so only near-equal amplitudes
#: are averaged: noise goes, reflector and fault steps stay), then morphological top-hat contrast. It keeps polarity
#: (zero amplitude stays at 0.5). Chosen by scripts/bench/sweep_edges.py: it raises fault contrast over the raw
#: section on every tuning survey and on the held-out ones (the previous default lowered it).
DEFAULT_PIPELINE: list[dict[str, Any]] = [
    {"op": "bilateral", "diameter": 7, "sigma_color": 0.05, "sigma_space": 3.0},
    {"op": "morph_contrast", "size": 3, "shape": "ellipse", "gain": 1.0},
]
