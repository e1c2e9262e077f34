"""SeismicDataModule: the training data of a run, as Lightning loaders of patches of branches.

Sources, any of them at once (every item carries the same keys, so they batch together):

* **files** (`train_files`, `files`): patches of SEG-Y / MDIO sections on a grid of `stride`,
  jittered and flipped left-right (never in time), split spatially into train and validation
  (`surveys.py`); their own references, or blind-spot / Noisier2Noise targets (`blindspot`,
  `noisier`) to learn from noisy data alone;
* **synthetic** patches drawn fresh every epoch with their clean references (`synthetic.py`);
* a **pool** of whole sections (synthetic and semi-real) with every branch computed once and
  cached (`pool.py`): the only source of classical denoisers' branches, which are never
  computed per patch.

The branches of a patch (`branches.py`: raw, edge, denoisers) are computed exactly as at
inference; the edge branch of a file patch from the patch plus the pipeline's halo.
`val/score` is scored on the fixed validation items with clean references: the pool's
validation sections, else fixed synthetic patches from other seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seisfuse.branches import BranchSettings
from seisfuse.config import settings_object
from seisfuse.data.blindspot import BlindSpot
from seisfuse.data.datasets import BlindSpotPatches, NoisierPatches, PatchDataset
from seisfuse.data.index import AXIS_IDS, Sampling, expand_files
from seisfuse.data.noisier import Noisier
from seisfuse.data.pool import Pool, SectionPool
from seisfuse.data.pool_patches import PoolPatches, pool_stacks
from seisfuse.data.surveys import Surveys
from seisfuse.data.synthetic import (
    VALIDATION_SEED_OFFSET,
    EpochSampler,
    SyntheticData,
    SyntheticPatches,
    TrainingPatches,
    ValidationPatches,
)
from seisfuse.edges import DEFAULT_PIPELINE
from seisfuse.errors import SettingError
from seisfuse.normalize import DEFAULT_PERCENTILE
from seisfuse.segy import header_bytes_from

#: Ranges of the plain numeric settings: (key, test, rule in words).
_RANGES = (("patch_size", lambda v: v >= 8, ">= 8"), ("stride", lambda v: v >= 1, ">= 1"),
           ("val_fraction", lambda v: 0.0 <= v < 1.0, "in [0, 1)"),
           ("min_live_fraction", lambda v: 0.0 <= v <= 1.0, "in [0, 1]"), ("batch_size", lambda v: v >= 1, ">= 1"),
           ("num_workers", lambda v: v >= 0, ">= 0"), ("score_patches", lambda v: v >= 0, ">= 0"))


class SeismicDataModule(pl.LightningDataModule):
    """Patches of branches from SEG-Y files, fresh synthetic surveys and a cached pool of whole sections."""

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
        branches: list[str] | None = None,
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
        pool: Pool | None = None,
        score_patches: int = 64,
        blindspot: BlindSpot | None = None,
        noisier: Noisier | None = None,
        files: list[str] | str | None = None,
    ) -> None:
        """Configure the data (every option is a key under `data:` in the YAML config).

        Args:
            train_files: SEG-Y files or glob patterns to train on (optional with synthetic or pool).
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
            branches: what the network fuses: raw first, then edge and any classical denoiser (bm3d, bm3d-psd,
                bm3d-so, fxdecon, ...; see seisfuse.branches). Default [raw, edge] (the fast model).
            edges: the edge pipeline, a list of ops (default: see seisfuse.edges.DEFAULT_PIPELINE).
            clip_percentile: percentile of |amplitude| that normalization clips at.
            iline_byte: trace-header byte of the inline number (default: detect).
            xline_byte: trace-header byte of the crossline / CDP number (default: detect).
            header_preset: standard (189/193), petrel (5/21) or 2d-cdp (21).
            batch_size: patches per batch per device.
            num_workers: DataLoader worker processes per device.
            cache_dir: copy every volume once to a memory-mapped .npy here for fast random reads (and, without
                pool.cache_dir, the section pool).
            seed: seed of the normalization's trace sample.
            synthetic: draw fresh synthetic patches with clean references every epoch (see SyntheticData).
            pool: whole synthetic and semi-real sections with every branch computed once and cached (see
                seisfuse.data.pool.Pool); needed by denoiser branches.
            score_patches: without synthetic or pool, fixed synthetic validation patches (default ranges) whose
                clean references give val/score, so that every run is ranked on the same truth (0: none).
            blindspot: hide a few pixels of every real-file patch (Noise2Void; see BlindSpot) for
                `model.loss.reference: blindspot`: learning from noisy data alone.
            noisier: add more of each real file's own noise to its patches, the patch itself the target
                (Noisier2Noise; see Noisier): learning from noisy data alone with `model.loss.reference: clean`.
            files: the files of a survey to adapt to (configs/adapt.yaml); added to train_files.
        """
        super().__init__()
        self.save_hyperparameters(logger=False)  # the resolved config goes to the logger whole (tracking.py)
        for key, test, rule in _RANGES:
            if not test(self.hparams[key]):
                raise SettingError(f"data.{key}", f"must be {rule}, got {self.hparams[key]}")
        axes = list(axes) if axes else ["inline", "crossline"]
        if any(a not in AXIS_IDS for a in axes):
            raise SettingError("data.axes", f"unknown axis {next(a for a in axes if a not in AXIS_IDS)!r}; valid: "
                                            "inline, crossline")
        self.branch_settings = settings_object(BranchSettings, {"edges": list(edges), "clip_percentile": clip_percentile,
                                                                "branches": tuple(branches or ("raw", "edge"))}, "data")
        self.blindspot = settings_object(BlindSpot, blindspot, "data.blindspot")
        self.noisier = settings_object(Noisier, noisier, "data.noisier")
        self.synthetic = settings_object(SyntheticData, synthetic, "data.synthetic")
        self.pool = settings_object(Pool, pool, "data.pool")
        self.patch = patch_size
        survey = expand_files(files, "files")
        if survey and not self.branch_settings.local and self.pool is not None:  # denoiser branches: whole sections
            self.pool.survey_files = [*self.pool.survey_files, *survey]
            survey = []
        sources = [name for name, given in (("data.train_files", train_files), ("data.files", files),
                                            ("data.synthetic", self.synthetic), ("data.pool", self.pool)) if given]
        if not sources:
            raise SettingError("data.train_files", "is empty and neither data.synthetic nor data.pool is set: nothing "
                                                   "to train on")
        if self.blindspot is not None and self.noisier is not None:
            raise SettingError("data.noisier", "and data.blindspot exclude each other: choose one way to learn from "
                                               "noisy data")
        patched = [name for name in sources if name not in ("data.pool", "data.files")]
        if not self.branch_settings.local and (patched or self.pool is None):
            raise SettingError("data.branches", f"{', '.join(self.branch_settings.denoisers)} are computed on whole "
                                                "sections, never per patch: train on data.pool only (not "
                                                f"{', '.join(patched) or 'without a pool'})")
        self.surveys = Surveys(expand_files(train_files, "train_files") + survey,
                               expand_files(val_files, "val_files"), expand_files(test_files, "test_files"),
                               self.branch_settings, Sampling(patch_size, stride, tuple(axes), min_live_fraction),
                               header_bytes_from(header_preset, iline_byte, xline_byte), val_fraction,
                               patch_size if split_gap is None else split_gap, seed, cache_dir)
        self._pools: dict[str, SectionPool] = {}
        self._panels: list[tuple[str, np.ndarray]] | None = None

    # ------------------------------------------------------------ preparation
    def _facts_folder(self) -> Path | None:
        """Where start-up facts are kept: data.cache_dir, else the run folder's file-stats/ (None outside a fit)."""
        if self.hparams.cache_dir:
            return Path(self.hparams.cache_dir)
        return Path(self.trainer.default_root_dir) / "file-stats" if self.trainer is not None else None

    def section_pool(self, split: str) -> SectionPool:
        """The pool's training or validation sections (not built here)."""
        if split not in self._pools:
            self._pools[split] = SectionPool(self.branch_settings, self.pool, split, self.hparams.cache_dir)
        return self._pools[split]

    def prepare_data(self) -> None:
        """Read each file once for what start-up needs, and build the caches and the section pool (one rank a node)."""
        self.surveys.prepare(self._facts_folder())
        if self.pool is not None:
            for split in ("train", "val"):
                self.section_pool(split).build()

    def setup(self, stage: str | None = None) -> None:
        """Open the files, estimate normalization, and build the train / validation patch index."""
        self.surveys.open(self._facts_folder())

    @property
    def files(self) -> list[Any]:
        """The opened files (SurveyFile)."""
        return self.surveys.files

    @property
    def train_index(self) -> np.ndarray:
        """The training patches of the files."""
        return self.surveys.train_index

    @property
    def val_index(self) -> np.ndarray:
        """The validation patches of the files."""
        return self.surveys.val_index

    # ------------------------------------------------------------ datasets
    def train_dataset(self) -> PatchDataset:
        """Jittered, flipped training patches of the files (masked or made noisier when learning from noise alone)."""
        return self._patches(self.train_index, jitter=self.hparams.stride // 2 if self.hparams.jitter else 0,
                             flip=self.hparams.flip)

    def val_dataset(self) -> PatchDataset:
        """Fixed validation patches of the files."""
        return self._patches(self.val_index)

    def _patches(self, index: np.ndarray, jitter: int = 0, flip: bool = False) -> PatchDataset:
        kind = BlindSpotPatches if self.blindspot else NoisierPatches if self.noisier else PatchDataset
        extra = (self.blindspot,) if self.blindspot else (self.noisier,) if self.noisier else ()
        return kind(self.files, index, self.patch, *extra, jitter=jitter, flip=flip)

    def _keyed_sources(self) -> list[Dataset]:
        """The training sources drawn by (epoch, index) keys: synthetic patches and pool patches."""
        out: list[Dataset] = []
        if self.synthetic is not None:
            out.append(SyntheticPatches(self.branch_settings, self.synthetic, self.patch,
                                        self.synthetic.patches_per_epoch, self.synthetic.seed, flip=self.hparams.flip))
        if self.pool is not None:
            out.append(PoolPatches(self.section_pool("train"), self.patch, self.pool.patches_per_epoch, self.pool.seed,
                                   real_fraction=self.pool.real_fraction, survey_fraction=self.pool.survey_fraction,
                                   blindspot=self.blindspot))
        return out

    def _loader(self, ds: Dataset, shuffle: bool, sampler: EpochSampler | None = None) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(ds, batch_size=self.hparams.batch_size, shuffle=shuffle and sampler is None,
                          sampler=sampler, num_workers=workers, persistent_workers=workers > 0,
                          pin_memory=torch.cuda.is_available(), drop_last=shuffle)

    def train_dataloader(self) -> DataLoader:
        keyed = self._keyed_sources()
        if not keyed:
            return self._loader(self.train_dataset(), shuffle=True)
        real = self.train_dataset()
        ds = TrainingPatches(real if len(real) else None, keyed)
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        seed = self.synthetic.seed if self.synthetic is not None else self.pool.seed
        return self._loader(ds, shuffle=True, sampler=EpochSampler(ds, num_replicas=world, rank=rank, seed=seed))

    def _scoring(self) -> Dataset | None:
        """The fixed validation items with clean references (val/score): the pool's validation sections, else
        synthetic patches from other seeds."""
        if self.pool is not None and self.pool.val_sections:
            return PoolPatches(self.section_pool("val"), self.patch, self.pool.val_sections, 0, augment=False)
        config = self.synthetic or SyntheticData()
        n = self.synthetic.val_patches if self.synthetic is not None else self.hparams.score_patches
        if not n or not self.branch_settings.local:
            return None
        return SyntheticPatches(self.branch_settings, config, self.patch, n, config.seed + VALIDATION_SEED_OFFSET)

    def _validation(self, index: np.ndarray) -> Dataset:
        """The files' validation patches interleaved with the fixed scoring set."""
        real = self._patches(index)
        return ValidationPatches(real if len(real) else None, self._scoring())

    def val_dataloader(self) -> DataLoader | list:
        ds = self._validation(self.val_index)
        return self._loader(ds, shuffle=False) if len(ds) else []

    def test_dataloader(self) -> DataLoader:
        """Patches of data.test_files, or the validation patches without test files."""
        return self._loader(self._validation(self.surveys.test_index), shuffle=False)

    @property
    def val_has_hidden_pixels(self) -> bool:
        """True when validation items carry blind-spot masks (the survey's own validation patches)."""
        return self.blindspot is not None and len(self.val_index) > 0

    # ------------------------------------------------------------ pictures and facts
    def panels(self, n: int) -> list[tuple[str, np.ndarray, dict]]:
        """Up to n whole validation sections as (name, branches (N, H, W) in [0, 1], axes), the same every epoch;
        axes in header units (trace keys, ms) for files, in samples and traces for synthetic sections."""
        if self._panels is None or len(self._panels) < n:
            out = self.surveys.panel_sections(n, adapting=bool(self.blindspot or self.noisier))
            stacks: list[tuple[str, np.ndarray]] = []
            if not out and self.pool is not None and self.pool.survey_files:  # adapting: the survey itself is judged
                jobs = self.section_pool("train").jobs
                stacks = [(f"{Path(jobs[i].path).stem} {jobs[i].axis} {jobs[i].section}", s)
                          for i, s in pool_stacks(self.section_pool("train"), n, kind="survey")]
            if not out and not stacks and self.pool is not None and self.pool.val_sections:
                stacks = [(f"pool section {i}", s) for i, s in pool_stacks(self.section_pool("val"), n)]
            if not out and not stacks and self.synthetic is not None and self.branch_settings.local:
                sections = SyntheticPatches(self.branch_settings, self.synthetic, 2 * self.patch, n,
                                            self.synthetic.seed + VALIDATION_SEED_OFFSET + 1)
                stacks = [(f"synthetic {i}", sections[i]["inputs"].numpy()) for i in range(n)]
            out += [(name, s, {"x_label": "trace", "x0": 0.0, "x1": float(s.shape[2] - 1), "y_label": "sample",
                               "y0": 0.0, "y1": float(s.shape[1] - 1)}) for name, s in stacks]
            self._panels = out
        return self._panels[:n]

    def describe(self) -> str:
        """One line: files, patches per split."""
        return (f"{len(self.files)} file(s), {len(self.train_index)} training and {len(self.val_index)} validation "
                f"patches of {self.patch} x {self.patch}; {self.branch_settings.describe()}")

    def state_info(self) -> dict[str, Any]:
        """Facts worth recording with a run (patch counts, per-file clips)."""
        info = {"train_patches": int(len(self.train_index)), "val_patches": int(len(self.val_index)),
                "clips": {Path(sf.path).name: sf.branches.normalizer.clip for sf in self.files},
                "branches": list(self.branch_settings.branches)}
        if self.synthetic is not None:
            info["synthetic_patches_per_epoch"] = self.synthetic.patches_per_epoch
            info["synthetic_val_patches"] = self.synthetic.val_patches
        if self.pool is not None:
            info["pool_sections"] = {s: len(self.section_pool(s)) for s in ("train", "val")}
        return info
