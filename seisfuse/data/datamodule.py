"""SeismicDataModule: SEG-Y files -> patch index -> normalized (raw, edge) patch pairs for Lightning.

* Sections are taken along inline and/or crossline (a 2D line gives its one section).
* Patches of `patch_size` on a grid of `stride` (the last row/column aligned to the edge),
  jittered at random by up to half a stride when training; horizontal flips only (time
  has a direction).
* Train and validation are split **spatially** (`index.py`): without `val_files`, the last
  `val_fraction` of each survey's inlines (of a 2D line's traces) is validation and a gap
  of `split_gap` positions (default: one patch) separates it from the training region.
* Patches whose samples are mostly dead traces, missing traces or zero padding (mutes)
  are dropped (`min_live_fraction`).
* The edge branch of a patch is computed on the patch plus the pipeline's halo, which
  gives exactly the values inference computes on whole sections (`branches.py`).
* Every DataLoader worker opens its own file handles (a Volume reopens lazily after
  pickling). With `cache_dir`, each volume is copied once to a memory-mapped .npy file.
* With `synthetic`, fresh synthetic patches with noise-free references are drawn every
  epoch (`synthetic.py`), validated on a fixed synthetic set from other seeds; real files,
  if any, are mixed in with themselves as references. Every item then carries `clean`,
  `clean_edge`, `fault` and `has_clean`, for `model.loss.reference: clean`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seisfuse.branches import Branches, BranchSettings, fit_normalizer
from seisfuse.data.blindspot import BlindSpot
from seisfuse.data.cache import FileStats, cache_file_for, scan_file
from seisfuse.data.datasets import BlindSpotPatches, NoisierPatches, PatchDataset, SurveyFile
from seisfuse.data.index import (
    AXIS_IDS,
    Region,
    Sampling,
    empty_index,
    expand_files,
    index_file,
    split_length,
    split_regions,
)
from seisfuse.data.noisier import Noisier
from seisfuse.data.synthetic import (
    VALIDATION_SEED_OFFSET,
    EpochSampler,
    SyntheticData,
    SyntheticPatches,
    TrainingPatches,
    ValidationPatches,
)
from seisfuse.edges import DEFAULT_PIPELINE
from seisfuse.errors import SeisfuseError, SettingError, file_error
from seisfuse.normalize import DEFAULT_PERCENTILE, Normalizer
from seisfuse.segy import GridVolume, header_bytes_from, open_volume


def _settings(cls: type, value: Any, key: str) -> Any:
    """A settings dataclass from its mapping form (as given in Python), errors naming the key."""
    if not isinstance(value, dict):
        return value
    try:
        return cls(**value)
    except (TypeError, ValueError) as exc:
        raise SettingError(key, str(exc)) from None


class SeismicDataModule(pl.LightningDataModule):
    """Patches of (raw, edge) pairs from SEG-Y files, split spatially into train and validation."""

    def __init__(
        self,
        train_files: list[str] | str | None = None,
        val_files: list[str] | str | None = None,
        test_files: list[str] | str | None = None,
        axes: list[str] | None = None,
        patch_size: int = 128,
        stride: int = 64,
        jitter: bool = True,
        flip: bool = True,
        val_fraction: float = 0.2,
        split_gap: int | None = None,
        min_live_fraction: float = 0.8,
        edges: list[dict[str, Any]] = DEFAULT_PIPELINE,  # noqa: B006 - read only; shown as the default in configs
        clip_percentile: float = DEFAULT_PERCENTILE,
        iline_byte: int | None = None,
        xline_byte: int | None = None,
        header_preset: str | None = None,
        batch_size: int = 16,
        num_workers: int = 4,
        cache_dir: str | None = None,
        seed: int = 0,
        synthetic: SyntheticData | None = None,
        score_patches: int = 64,
        blindspot: BlindSpot | None = None,
        noisier: Noisier | None = None,
        files: list[str] | str | None = None,
    ) -> None:
        """Configure the data (every option is a key under `data:` in the YAML config).

        Args:
            train_files: SEG-Y files or glob patterns to train on (optional with synthetic).
            val_files: separate validation files; if unset, each training survey is split spatially.
            test_files: files scored by `seisfuse test` (whole); if unset, test uses the validation patches.
            axes: section directions to sample, any of inline and crossline (default both).
            patch_size: patch height and width in samples and traces.
            stride: distance between patch positions (jitter moves them by up to half of it).
            jitter: move training patches at random each time they are drawn.
            flip: mirror training patches left-right at random (never in time).
            val_fraction: share of each survey's inlines (2D: traces) kept for validation.
            split_gap: positions left out between the training and validation regions (default: patch_size).
            min_live_fraction: drop patches with fewer live samples (dead/missing traces, mutes).
            edges: the edge pipeline, a list of ops (default: see seisfuse.edges.DEFAULT_PIPELINE).
            clip_percentile: percentile of |amplitude| that normalization clips at.
            iline_byte: trace-header byte of the inline number (default: detect).
            xline_byte: trace-header byte of the crossline / CDP number (default: detect).
            header_preset: standard (189/193), petrel (5/21) or 2d-cdp (21).
            batch_size: patches per batch per device.
            num_workers: DataLoader worker processes per device.
            cache_dir: copy every volume once to a memory-mapped .npy here for fast random reads.
            seed: seed of the normalization's trace sample.
            synthetic: draw fresh synthetic patches with clean references every epoch (see SyntheticData).
            score_patches: without synthetic, fixed synthetic validation patches (default ranges) whose clean
                references give val/score, so that every run is ranked on the same truth (0: none).
            blindspot: hide a few pixels of every real-file patch (Noise2Void; see BlindSpot) for
                `model.loss.reference: blindspot`: learning from noisy data alone.
            noisier: add more of each real file's own noise to its patches, the patch itself the target
                (Noisier2Noise; see Noisier): learning from noisy data alone with `model.loss.reference: clean`.
            files: the files of a survey to adapt to (configs/adapt.yaml); added to train_files.
        """
        super().__init__()
        self.save_hyperparameters(logger=False)  # the resolved config goes to the logger whole (tracking.py)
        for key, value, ok, rule in (
                ("patch_size", patch_size, patch_size >= 8, ">= 8"), ("stride", stride, stride >= 1, ">= 1"),
                ("val_fraction", val_fraction, 0.0 <= val_fraction < 1.0, "in [0, 1)"),
                ("min_live_fraction", min_live_fraction, 0.0 <= min_live_fraction <= 1.0, "in [0, 1]"),
                ("batch_size", batch_size, batch_size >= 1, ">= 1"), ("num_workers", num_workers, num_workers >= 0, ">= 0"),
                ("score_patches", score_patches, score_patches >= 0, ">= 0")):
            if not ok:
                raise SettingError(f"data.{key}", f"must be {rule}, got {value}")
        axes = list(axes) if axes else ["inline", "crossline"]
        bad = [a for a in axes if a not in AXIS_IDS]
        if bad:
            raise SettingError("data.axes", f"unknown axis {bad[0]!r}; valid: inline, crossline")
        try:
            self.branch_settings = BranchSettings(edges=list(edges), clip_percentile=clip_percentile)
        except ValueError as exc:
            raise SettingError("data.edges" if "edge" in str(exc) else "data.clip_percentile", str(exc)) from None
        self.sampling = Sampling(patch_size, stride, tuple(axes), min_live_fraction)
        self.train_paths = expand_files(train_files, "train_files") + expand_files(files, "files")
        self.blindspot = _settings(BlindSpot, blindspot, "data.blindspot")
        self.noisier = _settings(Noisier, noisier, "data.noisier")
        if self.blindspot is not None and self.noisier is not None:
            raise SettingError("data.noisier", "and data.blindspot exclude each other: choose one way to learn from "
                                               "noisy data")
        self.synthetic = synthetic = _settings(SyntheticData, synthetic, "data.synthetic")
        if not self.train_paths and synthetic is None:
            raise SettingError("data.train_files", "is empty and data.synthetic is not set: nothing to train on")
        self.val_paths = expand_files(val_files, "val_files")
        self.test_paths = expand_files(test_files, "test_files")
        self.header_bytes = header_bytes_from(header_preset, iline_byte, xline_byte)
        self.patch = patch_size
        self.gap = patch_size if split_gap is None else split_gap
        self.files: list[SurveyFile] = []
        self.train_index = self.val_index = self.test_index = empty_index()
        self._val_regions: dict[int, Region] = {}

    # ------------------------------------------------------------ preparation
    def prepare_data(self) -> None:
        """Read each file once for what start-up needs (and build the caches), on one rank per node."""
        for path in self.train_paths + self.val_paths + self.test_paths:
            with open_volume(path, self.header_bytes) as vol:
                self._facts(path, vol)

    def _facts_folder(self) -> Path | None:
        """Where start-up facts are kept: data.cache_dir, else the run folder's file-stats/ (None outside a fit)."""
        if self.hparams.cache_dir:
            return Path(self.hparams.cache_dir)
        trainer = self.trainer
        return Path(trainer.default_root_dir) / "file-stats" if trainer is not None else None

    def _facts(self, path: str, volume: GridVolume) -> tuple[FileStats, str | None]:
        """The file's start-up facts and its cache: loaded when a rank or an earlier run saved them, else one read."""
        percentile, seed = self.branch_settings.clip_percentile, self.hparams.seed
        cache = cache_file_for(path, self.hparams.cache_dir, str(self.header_bytes)) if self.hparams.cache_dir else None
        folder = self._facts_folder()
        target = cache_file_for(path, str(folder), f"{self.header_bytes}|{percentile}|{seed}", ".stats.npz") \
            if folder is not None else None
        if target is not None and target.exists() and (cache is None or cache.exists()):
            return FileStats.load(target), str(cache) if cache else None
        if self.hparams.min_live_fraction == 0 and cache is None:  # no full read needed: the clip's sample only
            clip = fit_normalizer(volume, percentile, seed=seed).clip
            stats = FileStats(clip, np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
        else:
            stats = scan_file(volume, percentile, seed, cache if cache is not None and not cache.exists() else None)
        if target is not None:
            stats.save(target)
        return stats, str(cache) if cache else None

    def _open(self, path: str) -> SurveyFile:
        vol = open_volume(path, self.header_bytes)
        stats, cache = self._facts(path, vol)
        live = (stats.first_live, stats.last_live) if self.hparams.min_live_fraction > 0 else (None, None)
        vol.close()
        norm = Normalizer(stats.clip, self.branch_settings.clip_percentile)
        return SurveyFile(path, vol, Branches(self.branch_settings, norm), *live, cache)

    def _regions(self, f: int, sf: SurveyFile, role: str) -> dict[str, Region]:
        """Regions of one file: both halves of a survey split spatially, or the whole file in one role."""
        n = split_length(sf.volume)
        if role != "split":
            return {role: Region(0, n)}
        regions = split_regions(n, self.hparams.val_fraction, self.gap, sf.path)
        self._val_regions[f] = regions.get("val", Region(n, n))
        return regions

    def setup(self, stage: str | None = None) -> None:
        """Open the files, estimate normalization, and build the train / validation patch index."""
        if self.files:
            return
        found: dict[str, list[np.ndarray]] = {"train": [], "val": []}
        for f, (path, role) in enumerate(self._roles()):
            sf = self._open(path)
            self.files.append(sf)
            rows = index_file(f, sf.volume, self.sampling, self._regions(f, sf, role), sf.live)
            if not any(len(r) for r in rows.values()):
                vol = sf.volume
                shapes = ", ".join(f"{a} {vol.n_samples} x {vol.section_width(a)}"
                                   for a in self.sampling.axes if a in vol.axes)
                raise file_error(path, f"no usable {self.patch} x {self.patch} patches: sections are {shapes} "
                                       "(samples x traces), or too few live samples; lower data.patch_size or "
                                       "data.min_live_fraction")
            for name, r in rows.items():
                found[name].append(r)
        self.train_index = np.concatenate(found["train"]) if found["train"] else empty_index()
        self.val_index = np.concatenate(found["val"]) if found["val"] else empty_index()
        if len(self.train_index) == 0 and self.train_paths:
            raise SeisfuseError("no training patches: every patch fell in the validation region or was dropped; "
                                "check data.val_fraction, data.split_gap and data.min_live_fraction")
        if len(self.val_index) == 0 and (self.val_paths or (self.train_paths and self.hparams.val_fraction > 0)):
            raise SeisfuseError("no validation patches: the validation region is narrower than a patch; raise "
                                "data.val_fraction or lower data.patch_size")
        test_rows: list[np.ndarray] = []
        for path in self.test_paths:
            sf = self._open(path)
            self.files.append(sf)
            f = len(self.files) - 1
            test_rows.append(index_file(f, sf.volume, self.sampling, self._regions(f, sf, "test"), sf.live)["test"])
        if self.test_paths and not sum(len(r) for r in test_rows):
            raise SeisfuseError(f"no usable {self.patch} x {self.patch} patches in data.test_files")
        self.test_index = np.concatenate(test_rows) if self.test_paths else self.val_index

    # ------------------------------------------------------------ loaders
    def train_dataset(self) -> PatchDataset:
        """Jittered, flipped training patches of the files (blind-spot masked with data.blindspot)."""
        return self._patches(self.train_index, jitter=self.hparams.stride // 2 if self.hparams.jitter else 0,
                             flip=self.hparams.flip)

    def val_dataset(self) -> PatchDataset:
        """Fixed validation patches of the files."""
        return self._patches(self.val_index)

    def _patches(self, index: np.ndarray, jitter: int = 0, flip: bool = False) -> PatchDataset:
        if self.blindspot is not None:
            return BlindSpotPatches(self.files, index, self.patch, self.blindspot, jitter=jitter, flip=flip)
        if self.noisier is not None:
            return NoisierPatches(self.files, index, self.patch, self.noisier, jitter=jitter, flip=flip)
        return PatchDataset(self.files, index, self.patch, jitter=jitter, flip=flip)

    def _synthetic(self, length: int, seed: int, flip: bool) -> SyntheticPatches:
        return SyntheticPatches(self.branch_settings, self.synthetic, self.patch, length, seed, flip=flip)

    def _with_synthetic(self, real: PatchDataset, length: int, seed: int, flip: bool) -> TrainingPatches:
        """Real patches (own references) followed by synthetic ones with clean references."""
        synth = self._synthetic(length, seed, flip) if length else None
        return TrainingPatches(real if len(real) else None, synth)

    def _loader(self, ds: Dataset, shuffle: bool, sampler: EpochSampler | None = None) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(ds, batch_size=self.hparams.batch_size, shuffle=shuffle and sampler is None,
                          sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                          pin_memory=torch.cuda.is_available(), drop_last=shuffle)

    def train_dataloader(self) -> DataLoader:
        if self.synthetic is None:
            return self._loader(self.train_dataset(), shuffle=True)
        ds = self._with_synthetic(self.train_dataset(), self.synthetic.patches_per_epoch, self.synthetic.seed,
                                  flip=self.hparams.flip)
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = EpochSampler(ds, num_replicas=world, rank=rank, seed=self.synthetic.seed)
        return self._loader(ds, shuffle=True, sampler=sampler)

    def _validation(self, index: np.ndarray) -> Dataset:
        """The files' validation patches interleaved with the fixed synthetic scoring set (clean references)."""
        real = self._patches(index)
        config = self.synthetic or SyntheticData()
        n = self.synthetic.val_patches if self.synthetic is not None else self.hparams.score_patches
        scoring = SyntheticPatches(self.branch_settings, config, self.patch, n, config.seed + VALIDATION_SEED_OFFSET)
        return ValidationPatches(real if len(real) else None, scoring if n else None)

    def val_dataloader(self) -> DataLoader | list:
        ds = self._validation(self.val_index)
        return self._loader(ds, shuffle=False) if len(ds) else []

    def test_dataloader(self) -> DataLoader:
        """Patches of data.test_files, or the validation patches without test files."""
        return self._loader(self._validation(self.test_index), shuffle=False)

    def panels(self, n: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Up to n whole validation sections as (name, raw, edge) in [0, 1], the same every epoch."""
        out: list[tuple[str, np.ndarray, np.ndarray]] = []
        val_files = [f for f, (_, role) in enumerate(self._roles()) if role in ("val", "split")]
        for f in val_files:
            sf = self.files[f]
            g = sf.volume.geometry
            region = self._val_regions.get(f, Region(0, split_length(sf.volume)))
            if region.hi <= region.lo and (self.blindspot or self.noisier):  # adapting: the survey itself is judged
                region = Region(0, split_length(sf.volume))
            if region.hi <= region.lo:  # val_fraction 0: this file gives no validation sections
                continue
            if g.kind == "2d":
                picks = [("inline", 0, region.lo, region.hi)]
            else:
                ks = np.unique(np.linspace(region.lo, region.hi - 1, num=max(1, n)).round().astype(int))
                picks = [("inline", int(k), 0, None) for k in ks]
            for axis, k, a, b in picks:
                raw, edge = sf.branches.pair(sf.section(axis, k))
                key = int(sf.volume.section_keys(axis)[k])
                name = f"{Path(sf.path).stem} {axis} {key}" if g.kind == "3d" else f"{Path(sf.path).stem} line"
                out.append((name, raw[:, a:b], edge[:, a:b]))
                if len(out) >= n:
                    return out
        if not out and self.synthetic is not None:  # synthetic only: whole sections from the validation seeds
            sections = SyntheticPatches(self.branch_settings, self.synthetic, 2 * self.patch, n,
                                        self.synthetic.seed + VALIDATION_SEED_OFFSET + 1)
            for i in range(n):
                item = sections[i]
                out.append((f"synthetic {i}", item["raw"][0].numpy(), item["edge"][0].numpy()))
        return out

    def _roles(self) -> list[tuple[str, str]]:
        roles = [(p, "split" if not self.val_paths else "train") for p in self.train_paths]
        return roles + [(p, "val") for p in self.val_paths]

    def describe(self) -> str:
        """One line: files, patches per split."""
        return (f"{len(self.files)} file(s), {len(self.train_index)} training and {len(self.val_index)} validation "
                f"patches of {self.patch} x {self.patch}; edges: {self.branch_settings.pipeline.describe()}")

    def state_info(self) -> dict[str, Any]:
        """Facts worth recording with a run (patch counts, per-file clips)."""
        info = {"train_patches": int(len(self.train_index)), "val_patches": int(len(self.val_index)),
                "clips": {Path(sf.path).name: sf.branches.normalizer.clip for sf in self.files}}
        if self.synthetic is not None:
            info["synthetic_patches_per_epoch"] = self.synthetic.patches_per_epoch
            info["synthetic_val_patches"] = self.synthetic.val_patches
        return info
