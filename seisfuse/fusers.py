"""Fusers: something that fuses batches of normalized (raw, edge) sections, with the branch settings that made them.

A trained network (`load_fuser`: a checkpoint, an exported weights file or folder, or the
shipped model) or a classical method (`baseline_fuser`). Sections larger than a tile are
fused in overlapping tiles blended with smooth weights (`tiled`). Tensors are
(B, 1, H, W) in [0, 1] in and out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from seisfuse.branches import BranchSettings
from seisfuse.errors import SettingError
from seisfuse.models.baselines import BASELINES, method
from seisfuse.weights import ModelFile, load_model_file

DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64


@dataclass
class Fuser:
    """Something that fuses batches of normalized (raw, edge) sections, with the settings that made them."""

    name: str
    settings: BranchSettings
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    module: torch.nn.Module | None = None

    def fuse_section(self, raw: np.ndarray, edge: np.ndarray, tile: int | None = None,
                     overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
        """Fuse one (H, W) section on the module's device (pictures, the Python API), in tiles if tile is given."""
        device = next(self.module.parameters()).device if self.module is not None else torch.device("cpu")
        r, e = torch.from_numpy(raw)[None, None].to(device), torch.from_numpy(edge)[None, None].to(device)
        with torch.inference_mode():
            out = self.fn(r, e) if tile is None else tiled(self.fn, r, e, tile, overlap)
        return out[0, 0].float().cpu().numpy()


def model_fuser(model: ModelFile, device: str | torch.device = "cpu") -> Fuser:
    """A trained network as a Fuser, with the branch settings it was trained with."""
    net = model.build(device)
    return Fuser(name=model.name, settings=model.branches, fn=net, module=net)


def load_fuser(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> Fuser:
    """The network of a checkpoint, an exported weights file or folder, or (None) the shipped pretrained model."""
    return model_fuser(load_model_file(path), device)


def baseline_fuser(name: str, settings: BranchSettings | None = None, **params: float) -> Fuser:
    """A classical fusion method or filter on (raw, edge) pairs made with the given settings (defaults without)."""
    try:
        func = method(name, **params)
    except ValueError as exc:
        raise SettingError("method", str(exc)) from None

    def fn(raw: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        r, e = raw.detach().float().cpu().numpy(), edge.detach().float().cpu().numpy()
        out = np.stack([func(r[i, 0], e[i, 0]) for i in range(r.shape[0])])[:, None]
        return torch.from_numpy(out).to(raw.device)

    return Fuser(name=name if name in BASELINES else func.__name__, settings=settings or BranchSettings(), fn=fn)


# ---------------------------------------------------------------- tiles
def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of tiles covering length, overlapping by at least overlap, the last one aligned to the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def blend_window(h: int, w: int, overlap: int) -> torch.Tensor:
    """Tile weight: 1 inside, rising linearly over `overlap` pixels at each edge (never 0)."""
    def ramp(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=torch.float32)
        edge = torch.minimum(i + 1, n - i) / max(overlap, 1)
        return edge.clamp(max=1.0)

    return ramp(h)[:, None] * ramp(w)[None, :]


def tiled(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], raw: torch.Tensor, edge: torch.Tensor,
          tile: int, overlap: int) -> torch.Tensor:
    """Apply fn to (B, 1, H, W) inputs whole, or in overlapping tiles blended by weight when larger than tile."""
    _, _, h, w = raw.shape
    if h <= tile and w <= tile:
        return fn(raw, edge)
    out = torch.zeros_like(raw, dtype=torch.float32)
    weight = torch.zeros((h, w), dtype=torch.float32, device=raw.device)
    for y in tile_starts(h, tile, overlap):
        for x in tile_starts(w, tile, overlap):
            th, tw = min(tile, h), min(tile, w)
            win = blend_window(th, tw, overlap).to(raw.device)
            part = fn(raw[..., y:y + th, x:x + tw], edge[..., y:y + th, x:x + tw]).float()
            out[..., y:y + th, x:x + tw] += part * win
            weight[y:y + th, x:x + tw] += win
    return out / weight
