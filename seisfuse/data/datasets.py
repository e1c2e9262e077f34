"""Datasets of patches of branches in [0, 1] from SEG-Y files, one handle per worker process.

Every item carries `inputs`, the (N, H, W) stack of the branches the network fuses, and `raw`
and `edge` (1, H, W), which the losses use. Patches of files hold the local branches only (raw,
edge): a classical denoiser's branch is computed on whole sections (`pool.py`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from seisfuse.branches import EDGE, RAW, Branches, stack_branches
from seisfuse.data.blindspot import BlindSpot, apply_masking, draw_masking
from seisfuse.data.index import AXIS_NAMES
from seisfuse.data.noisier import Noisier, draw_noise, noise_psd
from seisfuse.segy import GridVolume


@dataclass
class SurveyFile:
    """One SEG-Y file prepared for sampling: volume, its branches, live-sample ranges, optional cache."""

    path: str
    volume: GridVolume
    branches: Branches
    first_live: np.ndarray | None = None  # per trace: first non-zero sample (-1 dead)
    last_live: np.ndarray | None = None
    cache_path: str | None = None
    _cache: np.ndarray | None = field(default=None, repr=False)
    _cache_pid: int = field(default=-1, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = None
        state["_cache_pid"] = -1
        return state

    @property
    def live(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(first, last) live sample per trace, or None when not scanned."""
        return None if self.first_live is None else (self.first_live, self.last_live)

    def _array(self) -> np.ndarray:
        """The cached (inlines, crosslines, samples) array, memory-mapped once per process."""
        if self._cache is None or self._cache_pid != os.getpid():
            self._cache = np.load(self.cache_path, mmap_mode="r")
            self._cache_pid = os.getpid()
        return self._cache

    def read(self, axis: str, section: int, ya: int, yb: int, xa: int, xb: int) -> np.ndarray:
        """Raw amplitudes of section rows ya:yb (samples), columns xa:xb (traces), float32."""
        if self.cache_path is not None:
            arr = self._array()
            block = arr[section, xa:xb, ya:yb] if axis == "inline" else arr[xa:xb, section, ya:yb]
            return np.ascontiguousarray(block.T, dtype=np.float32)
        return np.ascontiguousarray(self.volume.section_traces(axis, section, xa, xb)[ya:yb])

    def section(self, axis: str, section: int) -> np.ndarray:
        """A whole section of raw amplitudes (samples, traces)."""
        return self.read(axis, section, 0, self.volume.n_samples, 0, self.volume.section_width(axis))

    def shape(self, axis: str) -> tuple[int, int]:
        """(samples, traces) of the sections along axis."""
        return self.volume.n_samples, self.volume.section_width(axis)


def local_inputs(branches: Branches, raw: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """The (N, H, W) stack of a patch's branches from its raw and edge branches (local branch lists only)."""
    return stack_branches(branches.settings.branches, {RAW: raw, EDGE: edge})


class PatchDataset(Dataset):
    """(raw, edge) patch pairs from a patch index, jittered and flipped when training."""

    def __init__(self, files: list[SurveyFile], index: np.ndarray, patch: int, jitter: int = 0,
                 flip: bool = False) -> None:
        self.files = files
        self.index = index
        self.patch = patch
        self.jitter = jitter
        self.flip = flip

    def __len__(self) -> int:
        return len(self.index)

    def position(self, i: int) -> tuple[int, str, int, int, int]:
        """(file, axis, section, y0, x0) of item i, jittered when training."""
        row = self.index[i]
        f, axis, k, y0, x0 = int(row["file"]), AXIS_NAMES[int(row["axis"])], int(row["section"]), int(row["y0"]), int(row["x0"])
        if self.jitter:
            n_samples = self.files[f].volume.n_samples
            dy, dx = (int(v) for v in torch.randint(-self.jitter, self.jitter + 1, (2,)))
            y0 = min(max(y0 + dy, 0), n_samples - self.patch)
            x0 = min(max(x0 + dx, int(row["x_lo"])), int(row["x_hi"]) - self.patch)
        return f, axis, k, y0, x0

    def window(self, f: int, axis: str, k: int, y0: int, x0: int) -> tuple[np.ndarray, tuple[int, int]]:
        """The normalized window of one patch with the edge branch's halo (inside the section), and its origin."""
        src, p = self.files[f], self.patch

        def read(ya: int, yb: int, xa: int, xb: int) -> np.ndarray:
            return src.read(axis, k, ya, yb, xa, xb)

        return src.branches.window_in_region(read, src.shape(axis), y0, y0 + p, x0, x0 + p)

    def tensors(self, arrays: list[np.ndarray]) -> list[torch.Tensor]:
        """(1, H, W) float32 tensors of (H, W) arrays ((1, N, H, W) of stacks), all flipped left-right together when a
        training flip is drawn."""
        if self.flip and bool(torch.randint(0, 2, ()).item()):
            arrays = [a[..., ::-1] for a in arrays]
        return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None] for a in arrays]

    def pair(self, f: int, axis: str, k: int, y0: int, x0: int) -> tuple[np.ndarray, np.ndarray]:
        """Normalized raw patch and its edge branch, computed with halo: bit-identical to cropping the whole
        section's pair, reading only the patch and the halo."""
        p = self.patch
        return self.files[f].branches.pair_of_window(*self.window(f, axis, k, y0, x0), y0, y0 + p, x0, x0 + p)

    def __getitem__(self, i: int) -> dict[str, Any]:
        f, axis, k, y0, x0 = self.position(i)
        raw, edge = self.pair(f, axis, k, y0, x0)
        raw, edge, inputs = self.tensors([raw, edge, local_inputs(self.files[f].branches, raw, edge)])
        return {"raw": raw, "edge": edge, "inputs": inputs[0], "key": f"{Path(self.files[f].path).name}:{axis}:{k}"}


class BlindSpotPatches(PatchDataset):
    """Patches of real files with blind-spot masking: the masked (raw, edge) pair, the noisy target, the hidden mask.

    The edge branch is computed from the masked window, so neither branch shows a hidden value.
    """

    def __init__(self, files: list[SurveyFile], index: np.ndarray, patch: int, blindspot: BlindSpot, jitter: int = 0,
                 flip: bool = False) -> None:
        super().__init__(files, index, patch, jitter=jitter, flip=flip)
        self.blindspot = blindspot

    def masked_pair(self, f: int, axis: str, k: int, y0: int, x0: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(masked raw, its edge branch, unmasked raw: the target, hidden-pixel mask) of one patch."""
        src, p = self.files[f], self.patch
        window, (ya, xa) = self.window(f, axis, k, y0, x0)
        masking = draw_masking(window.shape, (y0 - ya, x0 - xa), p, self.blindspot, rng)
        raw, edge = src.branches.pair_of_window(apply_masking(window, masking), (ya, xa), y0, y0 + p, x0, x0 + p)
        target = window[y0 - ya: y0 - ya + p, x0 - xa: x0 - xa + p]
        return raw, edge, target, masking.hidden

    def __getitem__(self, i: int) -> dict[str, Any]:
        f, axis, k, y0, x0 = self.position(i)
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        raw, edge, target, hidden = self.masked_pair(f, axis, k, y0, x0, rng)
        inputs = local_inputs(self.files[f].branches, raw, edge)
        raw, edge, target, hidden, inputs = self.tensors([raw, edge, target, hidden, inputs])
        return {"raw": raw, "edge": edge, "inputs": inputs[0], "target": target, "mask": hidden,
                "key": f"{Path(self.files[f].path).name}:{axis}:{k}"}


class NoisierPatches(PatchDataset):
    """Patches of real files with more of their own noise (Noisier2Noise): the noisier (raw, edge) pair in, the
    patch as it is (and its edge branch) as the target, under the keys the clean loss reads."""

    def __init__(self, files: list[SurveyFile], index: np.ndarray, patch: int, noisier: Noisier, jitter: int = 0,
                 flip: bool = False) -> None:
        super().__init__(files, index, patch, jitter=jitter, flip=flip)
        self.noisier = noisier
        self._psd: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def psd(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """The file's noise spectrum, from a few of its sections (once per worker)."""
        if f not in self._psd:
            src = self.files[f]
            axis = src.volume.axes[0]
            n = src.volume.n_sections(axis)
            picks = sorted({int(k) for k in np.linspace(0, n - 1, min(n, self.noisier.sections))})
            self._psd[f] = noise_psd([src.branches.normalizer.forward(src.section(axis, k)) for k in picks])
        return self._psd[f]

    def __getitem__(self, i: int) -> dict[str, Any]:
        f, axis, k, y0, x0 = self.position(i)
        src, p = self.files[f], self.patch
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        window, origin = self.window(f, axis, k, y0, x0)
        noisier = window + draw_noise(window.shape, self.psd(f), self.noisier.ratio, rng)
        raw, edge = src.branches.pair_of_window(np.clip(noisier, 0.0, 1.0), origin, y0, y0 + p, x0, x0 + p)
        target, target_edge = src.branches.pair_of_window(window, origin, y0, y0 + p, x0, x0 + p)
        inputs = local_inputs(src.branches, raw, edge)
        raw, edge, target, target_edge, inputs = self.tensors([raw, edge, target, target_edge, inputs])
        return {"raw": raw, "edge": edge, "inputs": inputs[0], "clean": target, "clean_edge": target_edge,
                "fault": torch.zeros_like(raw),
                "target": target, "mask": torch.zeros_like(raw), "has_clean": torch.tensor(False),
                "key": f"{Path(self.files[f].path).name}:{axis}:{k}"}
