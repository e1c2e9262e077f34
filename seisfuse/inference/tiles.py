"""Fusing sections larger than a tile: overlapping tiles blended with smooth weights, and their one set of defaults.

Torch is imported where tensors are handled, so the command line reads the defaults without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seisfuse.errors import SettingError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Tiling:
    """Sections larger than `tile` (either side) are fused in tiles overlapping by `overlap`, blended smoothly."""

    tile: int = 1024
    overlap: int = 64

    def __post_init__(self) -> None:
        if self.tile < 16:
            raise SettingError("tile", f"must be >= 16, got {self.tile}")
        if not 0 <= self.overlap < self.tile // 2:
            raise SettingError("overlap", f"must be in [0, tile / 2 = {self.tile // 2}), got {self.overlap}")


#: The tiling every caller uses unless told otherwise (predict's --tile / --overlap defaults).
DEFAULT_TILING = Tiling()


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of tiles covering length, overlapping by at least overlap, the last one aligned to the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def blend_window(h: int, w: int, overlap: int) -> torch.Tensor:
    """Tile weight: 1 inside, rising linearly over `overlap` pixels at each edge (never 0)."""
    import torch

    def ramp(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=torch.float32)
        edge = torch.minimum(i + 1, n - i) / max(overlap, 1)
        return edge.clamp(max=1.0)

    return ramp(h)[:, None] * ramp(w)[None, :]


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int) -> torch.Tensor:
    """Apply fn to a (B, N, H, W) stack of branches whole, or in overlapping tiles blended by weight when larger than
    tile; fn returns (B, 1, h, w) for each (B, N, h, w) tile."""
    import torch

    b, _, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    out = torch.zeros((b, 1, h, w), dtype=torch.float32, device=x.device)
    weight = torch.zeros((h, w), dtype=torch.float32, device=x.device)
    for y in tile_starts(h, tile, overlap):
        for x0 in tile_starts(w, tile, overlap):
            th, tw = min(tile, h), min(tile, w)
            win = blend_window(th, tw, overlap).to(x.device)
            part = fn(x[..., y:y + th, x0:x0 + tw]).float()
            out[..., y:y + th, x0:x0 + tw] += part * win
            weight[y:y + th, x0:x0 + tw] += win
    return out / weight
