"""Fresh synthetic training patches every epoch, with noise-free references, and the sampler that keys them.

Each patch is a single-line synthetic survey (`seisfuse.synth.survey`) whose knobs are drawn from
:class:`~seisfuse.synth.survey.SynthRanges`, deterministically by (seed, epoch, index): wavelet
frequency, phase and sample rate, folding, dips, faults, bright spots, and one or two
noise kinds at a noise/signal RMS ratio. The noisy section makes the (raw, edge) pair the
network sees; the clean section, normalized with the same clip, makes the references
(clean, edge branch of clean) and the fault mask comes along for fault-weighted losses.
The clip is the section's own percentile times a random factor, so the network meets the
spread of clips that whole-volume statistics give at inference.

:class:`EpochSampler` yields ``(epoch, index)`` keys, shuffled per epoch and split across
ranks; it is a DistributedSampler, so Lightning keeps it under DDP and sets its epoch
(which also makes a resumed run draw the patches it would have drawn).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from seisfuse.branches import Branches, BranchSettings
from seisfuse.data.datasets import PatchDataset, local_inputs
from seisfuse.normalize import jittered_normalizer
from seisfuse.synth.survey import SynthRanges, make_survey

#: Seed offset of the fixed validation set: other seeds than any training epoch draws.
VALIDATION_SEED_OFFSET = 1_000_003


@dataclass
class SyntheticData:
    """On-the-fly synthetic training data (keys under `data.synthetic`)."""

    patches_per_epoch: int = 4096
    val_patches: int = 256
    seed: int = 0
    clip_jitter: float = 0.15  # log-normal spread of the normalization clip around the section's own
    ranges: SynthRanges = field(default_factory=SynthRanges)

    def __post_init__(self) -> None:
        if isinstance(self.ranges, dict):
            self.ranges = SynthRanges(**self.ranges)
        if self.patches_per_epoch < 1 or self.val_patches < 0:
            raise ValueError("data.synthetic.patches_per_epoch must be >= 1 and val_patches >= 0")
        if self.clip_jitter < 0:
            raise ValueError("data.synthetic.clip_jitter must be >= 0")


def clean_item(inputs: np.ndarray, edge: np.ndarray, clean: np.ndarray, clean_edge: np.ndarray, fault: np.ndarray,
               key: str) -> dict[str, Any]:
    """A training item with noise-free references: the (N, H, W) branches, then (1, H, W) float32 tensors."""
    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]

    raw = inputs[0]
    return {"inputs": torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)), "raw": t(raw), "edge": t(edge),
            "clean": t(clean), "clean_edge": t(clean_edge),
            "fault": t(fault), "target": t(raw), "mask": torch.zeros((1, *raw.shape), dtype=torch.float32),
            "has_clean": torch.tensor(True), "key": key}


class SyntheticPatches(Dataset):
    """Synthetic (raw, edge) patches with their clean references, drawn by (epoch, index) keys."""

    def __init__(self, settings: BranchSettings, config: SyntheticData, patch: int, length: int, seed: int,
                 flip: bool = False) -> None:
        self.settings = settings
        self.config = config
        self.patch = patch
        self.length = length
        self.seed = seed
        self.flip = flip
        halo = settings.pipeline.halo
        self.halo = 0 if not math.isfinite(halo) else int(math.ceil(halo))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        epoch, i = key if isinstance(key, tuple) else (0, key)
        rng = np.random.default_rng([self.seed, epoch, i])
        size = self.patch + 2 * self.halo
        survey = make_survey(self.config.ranges.draw(rng, 1, size, size))
        noisy, clean, fault = survey.seismic[0].T, survey.clean[0].T, survey.fault_mask[0].T
        branches = Branches(self.settings, jittered_normalizer(noisy, self.settings.clip_percentile,
                                                               self.config.clip_jitter, rng))
        raw, edge = branches.pair(noisy)
        ref, ref_edge = branches.pair(clean)
        c = slice(self.halo, self.halo + self.patch)
        arrays = [a[..., c, c] for a in (local_inputs(branches, raw, edge), edge, ref, ref_edge, fault)]
        if self.flip and rng.random() < 0.5:
            arrays = [a[..., ::-1] for a in arrays]
        return clean_item(*arrays, key=f"synthetic:{self.seed}:{epoch}:{i}")


class TrainingPatches(Dataset):
    """Real-file patches (their own references: the `sources` terms) followed by the sources drawn by (epoch, index)
    keys (synthetic patches, pool patches), one after the other."""

    def __init__(self, real: PatchDataset | None, keyed: list[Dataset]) -> None:
        self.real = real
        self.keyed = keyed
        self.n_real = len(real) if real is not None else 0
        self.starts = np.cumsum([self.n_real, *(len(k) for k in keyed)])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        epoch, i = key if isinstance(key, tuple) else (0, key)
        if i < self.n_real:
            return with_own_references(self.real[i])
        j = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.keyed[j][(epoch, i - int(self.starts[j]))]


class ValidationPatches(Dataset):
    """The files' validation patches (their own references) interleaved with a fixed synthetic set that has clean
    references (the scoring set of val/score), so a validation limited to a few batches still sees both."""

    def __init__(self, real: PatchDataset | None, scoring: Dataset | None) -> None:
        self.real = real
        self.scoring = scoring
        n_real = len(real) if real is not None else 0
        n_scoring = len(scoring) if scoring is not None else 0
        both = min(n_real, n_scoring)
        self.order = [(src, i) for i in range(both) for src in ("real", "scoring")]
        self.order += [("real", i) for i in range(both, n_real)] + [("scoring", i) for i in range(both, n_scoring)]

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, k: int) -> dict[str, Any]:
        src, i = self.order[k]
        return with_own_references(self.real[i]) if src == "real" else self.scoring[(0, i)]


def with_own_references(item: dict[str, Any]) -> dict[str, Any]:
    """A real-file item with itself as references (no clean section exists; a noisier item brings its own), no faults,
    and (unless blind-spot masked) no hidden pixels: every item carries the same keys, so items batch together."""
    zeros = torch.zeros_like(item["raw"])
    return {"target": item["raw"], "mask": zeros, "clean": item["raw"], "clean_edge": item["edge"], "fault": zeros,
            "has_clean": torch.tensor(False), **item}


class EpochSampler(DistributedSampler):
    """(epoch, index) keys over a dataset, shuffled per epoch by seed, this rank's share only."""

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last)

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch = self.epoch
        for i in super().__iter__():
            yield epoch, int(i)
