"""Fusers and the one inference spine: amplitudes of sections in, fused amplitudes out.

A :class:`Fuser` fuses batches of the normalized branches of sections: a trained network
(:func:`load_fuser`: a checkpoint, an exported weights file or folder, or the shipped
model) or a classical method (:func:`baseline_fuser`: a fusion rule or a denoiser of the
raw section). Every caller (``seisfuse predict``, the Python API, ``preview``, the
validation panels, the benchmarks) goes through the same three steps:

1. :func:`prepare`: normalize sections with their volume's normalizer, build the
   branches the model fuses (raw, edge, and any classical denoiser's estimate: `branches.py`),
   note the dead traces (on the CPU, in DataLoader workers for predict);
2. :meth:`Fuser.forward`: move to the device, autocast to the precision, fuse whole or in
   overlapping tiles blended with smooth weights (`tiles.Tiling`), clamp to [0, 1];
3. :func:`restore`: map back to the volume's amplitude units; dead traces stay zero.

:meth:`Fuser.fuse_amplitudes` runs the three for sections in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seisfuse.branches import DEFAULT_BRANCHES, Branches, BranchSettings
from seisfuse.errors import SettingError
from seisfuse.inference.tiles import DEFAULT_TILING, Tiling, tiled
from seisfuse.inference.weights import ModelFile, load_model_file
from seisfuse.models.classical import CLASSICAL_FUSIONS
from seisfuse.normalize import Normalizer, dead_traces

#: Inference precisions: autocast dtype (None: float32 throughout).
PRECISIONS: dict[str, torch.dtype | None] = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


def check_precision(precision: str) -> str:
    """precision if it is one of PRECISIONS, else a SettingError naming them."""
    if precision not in PRECISIONS:
        raise SettingError("precision", f"must be {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def prepare(sections: Sequence[np.ndarray], branches: Branches) -> dict[str, torch.Tensor]:
    """Step 1: the branches (B, N, H, W) in [0, 1] of sections of amplitudes, and their dead traces (B, W)."""
    return {"inputs": torch.from_numpy(np.stack([branches.stack(s) for s in sections])),
            "dead": torch.from_numpy(np.stack([dead_traces(s) for s in sections]))}


def restore(fused: np.ndarray, normalizer: Normalizer, dead: np.ndarray) -> np.ndarray:
    """Step 3: fused sections (B, H, W) in [0, 1] back to amplitudes; dead traces (B, W) zero."""
    amp = normalizer.inverse(fused)
    amp[np.broadcast_to(np.asarray(dead, bool)[:, None, :], amp.shape)] = 0.0
    return amp


@dataclass
class Fuser:
    """Something that fuses batches of the normalized branches of sections, with the settings that make them."""

    name: str
    settings: BranchSettings
    fn: Callable[[torch.Tensor], torch.Tensor]
    module: torch.nn.Module | None = None
    source: Path | None = None  # the model file it was read from: never an output

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (the CPU for classical methods)."""
        return next(self.module.parameters()).device if self.module is not None else torch.device("cpu")

    def to(self, device: str | torch.device) -> Fuser:
        """Move the network to a device, in eval mode."""
        if self.module is not None:
            self.module.to(device).eval()
        return self

    def forward(self, inputs: torch.Tensor, tiling: Tiling = DEFAULT_TILING, precision: str = "32") -> np.ndarray:
        """Step 2: fused (B, H, W) in [0, 1] as float32 on the CPU, from (B, N, H, W) stacks of branches."""
        device = self.device
        inputs = inputs.to(device, non_blocking=True)
        dtype = PRECISIONS[check_precision(precision)]
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            out = tiled(self.fn, inputs, tiling.tile, tiling.overlap)
        return out.float().clamp(0.0, 1.0)[:, 0].cpu().numpy()

    def fuse_stack(self, stack: np.ndarray, tiling: Tiling = DEFAULT_TILING) -> np.ndarray:
        """One normalized (N, H, W) stack of branches fused, in [0, 1] (pictures, validation panels)."""
        return self.forward(torch.from_numpy(np.ascontiguousarray(stack))[None], tiling)[0]

    def fuse_amplitudes(self, sections: Sequence[np.ndarray], branches: Branches, tiling: Tiling = DEFAULT_TILING,
                        precision: str = "32") -> np.ndarray:
        """Sections of amplitudes (N, H, W) fused into amplitudes, one at a time (memory stays one section)."""
        out = np.empty((len(sections), *np.shape(sections[0])), dtype=np.float32)
        for i, section in enumerate(sections):
            batch = prepare([section], branches)
            fused = self.forward(batch["inputs"], tiling, precision)
            out[i] = restore(fused, branches.normalizer, batch["dead"].numpy())[0]
        return out


def model_fuser(model: ModelFile, device: str | torch.device = "cpu") -> Fuser:
    """A trained network as a Fuser, with the branch settings it was trained with."""
    net = model.build(device)
    return Fuser(name=model.name, settings=model.branches, fn=net, module=net, source=model.path)


def module_fuser(net: torch.nn.Module, settings: BranchSettings, name: str = "network") -> Fuser:
    """A network being trained as a Fuser (validation panels); its device and mode are the caller's."""
    return Fuser(name=name, settings=settings, fn=net, module=net)


def load_fuser(path: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> Fuser:
    """The network of a checkpoint, an exported weights file or folder, or (None) the shipped pretrained model."""
    return model_fuser(load_model_file(path), device)


def classical_method(name: str, **params: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """f(raw, edge) of a fusion rule, or of a classical denoiser of the raw section (tuned parameters unless given)."""
    from seisfuse import denoisers

    if name in CLASSICAL_FUSIONS:
        if params:
            raise SettingError("method", f"{name} takes no parameters")
        return CLASSICAL_FUSIONS[name]
    try:
        denoise = denoisers.create_denoiser(name, **params)
    except ValueError as exc:
        raise SettingError("method", str(exc)) from None

    def apply(raw: np.ndarray, edge: np.ndarray) -> np.ndarray:
        return denoise(raw)

    apply.__name__ = denoise.__name__
    return apply


def baseline_fuser(name: str, settings: BranchSettings | None = None, **params: Any) -> Fuser:
    """A classical fusion rule or denoiser as a Fuser on pairs made with the given settings (defaults without)."""
    func = classical_method(name, **params)

    settings = settings or BranchSettings()
    if settings.branches != DEFAULT_BRANCHES:
        raise SettingError("method", f"classical methods work on the raw and edge branches, not {settings.branches}")

    def fn(x: torch.Tensor) -> torch.Tensor:
        a = x.detach().float().cpu().numpy()
        out = np.stack([func(a[i, 0], a[i, 1]) for i in range(a.shape[0])])[:, None]
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(x.device)

    return Fuser(name=name if name in CLASSICAL_FUSIONS else func.__name__, settings=settings, fn=fn)
