"""Training data: SEG-Y files -> patch index -> normalized (raw, edge) patch pairs for Lightning.

* Sections are taken along inline and/or crossline (a 2D line gives its one section).
* Patches of `patch_size` on a grid of `stride` (the last row/column aligned to the edge),
  jittered at random by up to half a stride when training; horizontal flips only (time
  has a direction).
* Train and validation are split **spatially**: without `val_files`, the last
  `val_fraction` of each survey's inlines (of a 2D line's traces) is validation and a gap
  of `split_gap` positions (default: one patch) separates it from the training region.
  Crossline patches are confined to one region, so no training patch overlaps it.
* Patches whose samples are mostly dead traces, missing traces or zero padding (mutes)
  are dropped (`min_live_fraction`).
* The edge branch of a patch is computed on the patch plus the pipeline's halo, which
  gives exactly the values inference computes on whole sections.
* Every DataLoader worker opens its own file handles (a Volume reopens lazily after
  pickling). With `cache_dir`, each volume is copied once to a memory-mapped .npy file
  for fast random reads.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seisfuse.edges import DEFAULT_PIPELINE, EdgeOpError, EdgePipeline
from seisfuse.errors import SeisfuseError, file_error
from seisfuse.files import atomic_output
from seisfuse.normalize import DEFAULT_PERCENTILE, Normalizer, fit_normalizer
from seisfuse.segy import Volume, header_bytes_from

AXIS_IDS = {"inline": 0, "crossline": 1}
AXIS_NAMES = {v: k for k, v in AXIS_IDS.items()}
# index columns: file, axis, section, y0, x0, x_lo, x_hi (x0 may move within [x_lo, x_hi - patch] when jittered)
FILE, AXIS, SECTION, Y0, X0, XLO, XHI = range(7)


def expand_files(spec: str | list[str] | None, what: str) -> list[str]:
    """Paths from a list of files and glob patterns, each pattern required to match something."""
    if spec is None:
        return []
    items = [spec] if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in items:
        if any(c in item for c in "*?["):
            hits = sorted(glob.glob(item))
            if not hits:
                raise SeisfuseError(f"{item}: data.{what} pattern matches no files")
            out += hits
        else:
            if not Path(item).exists():
                raise file_error(item, f"no such file (data.{what})")
            out.append(item)
    return out


def grid_positions(length: int, patch: int, stride: int) -> np.ndarray:
    """Patch starts every stride, plus one aligned to the end so the whole length is covered."""
    if length < patch:
        return np.zeros(0, dtype=np.int64)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return np.asarray(starts, dtype=np.int64)


@dataclass
class SurveyFile:
    """One SEG-Y file prepared for sampling: volume, normalizer, live-sample ranges, optional cache."""

    path: str
    volume: Volume
    normalizer: Normalizer
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


def cache_file_for(path: str, cache_dir: str, header_key: str) -> Path:
    """Cache name that changes whenever the file (size, mtime) or the header bytes change."""
    st = Path(path).stat()
    digest = hashlib.sha1(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{header_key}".encode()).hexdigest()
    return Path(cache_dir) / f"{Path(path).stem}-{digest[:12]}.npy"


def build_cache(volume: Volume, target: Path) -> None:
    """Write a volume as an (inlines, crosslines, samples) float32 .npy, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    g = volume.geometry
    with atomic_output(target) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                        shape=(len(g.ilines), len(g.xlines), volume.n_samples))
        for k in range(len(g.ilines)):
            arr[k] = volume.section("inline", k).T
        arr.flush()
        del arr


def live_fraction(first: np.ndarray, last: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int) -> np.ndarray:
    """Fraction of live samples in every (y0, x0) patch of a section, shape (len(ys), len(xs))."""
    lo = np.maximum(first[None, :], ys[:, None])
    hi = np.minimum(last[None, :], ys[:, None] + patch - 1)
    overlap = np.where(first[None, :] >= 0, np.clip(hi - lo + 1, 0, None), 0).astype(np.float64)
    csum = np.concatenate([np.zeros((len(ys), 1)), np.cumsum(overlap, axis=1)], axis=1)
    return (csum[:, xs + patch] - csum[:, xs]) / float(patch * patch)


class PatchDataset(Dataset):
    """(raw, edge) patch pairs in [0, 1] from an index of patch positions."""

    def __init__(self, files: list[SurveyFile], index: np.ndarray, patch: int, pipeline: EdgePipeline,
                 jitter: int = 0, flip: bool = False) -> None:
        self.files = files
        self.index = index
        self.patch = patch
        self.pipeline = pipeline
        self.jitter = jitter
        self.flip = flip

    def __len__(self) -> int:
        return len(self.index)

    def position(self, i: int) -> tuple[int, str, int, int, int]:
        """(file, axis, section, y0, x0) of item i, jittered when training."""
        row = self.index[i]
        f, axis, k, y0, x0 = int(row[FILE]), AXIS_NAMES[int(row[AXIS])], int(row[SECTION]), int(row[Y0]), int(row[X0])
        if self.jitter:
            n_samples = self.files[f].volume.n_samples
            dy, dx = (int(v) for v in torch.randint(-self.jitter, self.jitter + 1, (2,)))
            y0 = min(max(y0 + dy, 0), n_samples - self.patch)
            x0 = min(max(x0 + dx, int(row[XLO])), int(row[XHI]) - self.patch)
        return f, axis, k, y0, x0

    def pair(self, f: int, axis: str, k: int, y0: int, x0: int) -> tuple[np.ndarray, np.ndarray]:
        """Normalized raw patch and its edge branch (computed with halo)."""
        src = self.files[f]
        p = self.patch
        shape = (src.volume.n_samples, src.volume.section_width(axis))
        ya, yb, xa, xb = self.pipeline.region_bounds(shape, y0, y0 + p, x0, x0 + p)
        window = src.normalizer.forward(src.read(axis, k, ya, yb, xa, xb))
        edge = EdgePipeline.crop_window(self.pipeline(window), (ya, xa), y0, y0 + p, x0, x0 + p)
        raw = EdgePipeline.crop_window(window, (ya, xa), y0, y0 + p, x0, x0 + p)
        return raw, edge

    def __getitem__(self, i: int) -> dict[str, Any]:
        f, axis, k, y0, x0 = self.position(i)
        raw, edge = self.pair(f, axis, k, y0, x0)
        if self.flip and bool(torch.randint(0, 2, ()).item()):
            raw, edge = raw[:, ::-1], edge[:, ::-1]
        return {"raw": torch.from_numpy(np.ascontiguousarray(raw))[None],
                "edge": torch.from_numpy(np.ascontiguousarray(edge))[None],
                "key": f"{Path(self.files[f].path).name}:{axis}:{k}"}


class SeismicDataModule(pl.LightningDataModule):
    """Patches of (raw, edge) pairs from SEG-Y files, split spatially into train and validation."""

    def __init__(
        self,
        train_files: list[str] | str,
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
        val_panels: int = 3,
        seed: int = 0,
    ) -> None:
        """Configure the data (every option is a key under `data:` in the YAML config).

        Args:
            train_files: SEG-Y files or glob patterns to train on.
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
            edges: the edge pipeline, a list of ops (default: gaussian > unsharp > morph_gradient).
            clip_percentile: percentile of |amplitude| that normalization clips at.
            iline_byte: trace-header byte of the inline number (default: detect).
            xline_byte: trace-header byte of the crossline / CDP number (default: detect).
            header_preset: standard (189/193), petrel (5/21) or 2d-cdp (21).
            batch_size: patches per batch per device.
            num_workers: DataLoader worker processes per device.
            cache_dir: copy every volume once to a memory-mapped .npy here for fast random reads.
            val_panels: number of whole validation sections drawn as image panels.
            seed: seed of the normalization's trace sample.
        """
        super().__init__()
        self.save_hyperparameters(logger=False)  # the resolved config goes to the logger whole (tracking.py)
        if patch_size < 8:
            raise SeisfuseError(f"data.patch_size must be >= 8, got {patch_size}")
        if not 1 <= stride:
            raise SeisfuseError(f"data.stride must be >= 1, got {stride}")
        if not 0.0 <= val_fraction < 1.0:
            raise SeisfuseError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
        if not 0.0 <= min_live_fraction <= 1.0:
            raise SeisfuseError(f"data.min_live_fraction must be in [0, 1], got {min_live_fraction}")
        self.axes = list(axes) if axes else ["inline", "crossline"]
        bad = [a for a in self.axes if a not in AXIS_IDS]
        if bad:
            raise SeisfuseError(f"data.axes: unknown axis {bad[0]!r}; valid: inline, crossline")
        try:
            self.pipeline = EdgePipeline.from_config(edges)
        except EdgeOpError as exc:
            raise SeisfuseError(f"data.edges: {exc}") from None
        self.train_paths = expand_files(train_files, "train_files")
        if not self.train_paths:
            raise SeisfuseError("data.train_files is empty")
        self.val_paths = expand_files(val_files, "val_files")
        self.test_paths = expand_files(test_files, "test_files")
        self.header_bytes = header_bytes_from(header_preset, iline_byte, xline_byte)
        self.patch = patch_size
        self.gap = patch_size if split_gap is None else split_gap
        self.files: list[SurveyFile] = []
        self.train_index = np.zeros((0, 7), np.int64)
        self.val_index = np.zeros((0, 7), np.int64)
        self.test_index = np.zeros((0, 7), np.int64)
        self._val_regions: dict[int, tuple[int, int]] = {}

    # ------------------------------------------------------------ preparation
    def prepare_data(self) -> None:
        """Build the memory-mapped caches (once per node)."""
        for path in self.train_paths + self.val_paths + self.test_paths:
            self._ensure_cache(path)

    def _ensure_cache(self, path: str, volume: Volume | None = None) -> str | None:
        """The cache file of path, built first if missing; None without data.cache_dir."""
        if not self.hparams.cache_dir:
            return None
        target = cache_file_for(path, self.hparams.cache_dir, str(self.header_bytes))
        if not target.exists():
            if volume is not None:
                build_cache(volume, target)
            else:
                with Volume(path, self.header_bytes) as vol:
                    build_cache(vol, target)
        return str(target)

    def _open(self, path: str) -> SurveyFile:
        vol = Volume(path, self.header_bytes)
        norm = fit_normalizer(vol, self.hparams.clip_percentile, seed=self.hparams.seed)
        first = last = None
        if self.hparams.min_live_fraction > 0:
            first, last, _ = vol.scan_live()
        cache = self._ensure_cache(path, vol)
        vol.close()
        return SurveyFile(path, vol, norm, first, last, cache)

    def _region(self, n_positions: int, path: str) -> tuple[int, int]:
        """(train_end, val_start) along the split direction of a survey that is split spatially."""
        n_val = math.ceil(self.hparams.val_fraction * n_positions)
        val_start = n_positions - n_val
        train_end = val_start - self.gap
        if n_val == 0:
            return n_positions, n_positions
        if train_end <= 0:
            raise file_error(path, f"too small to split: {n_positions} positions along the split direction leave no "
                                   f"training region after {n_val} validation positions and a gap of {self.gap}; set "
                                   "data.val_files, or a smaller data.val_fraction / data.split_gap / data.patch_size")
        return train_end, val_start

    def _index_file(self, f: int, sf: SurveyFile, role: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Patch rows of one file for ('split', 'train' or 'val'): (train rows, val rows)."""
        vol, p, stride = sf.volume, self.patch, self.hparams.stride
        g = vol.geometry
        is_2d = g.kind == "2d"
        split_n = g.grid.shape[1] if is_2d else g.grid.shape[0]
        train_end, val_start = self._region(split_n, sf.path) if role == "split" else (split_n, 0)
        if role == "split":
            self._val_regions[f] = (val_start, split_n)
        train, val = [], []
        ys = grid_positions(vol.n_samples, p, stride)
        for axis in (a for a in self.axes if a in vol.axes):
            width = vol.section_width(axis)
            xs = grid_positions(width, p, stride)
            if len(ys) == 0 or len(xs) == 0:
                continue
            for k in range(vol.n_sections(axis)):
                pos = vol.section_positions(axis, k)
                if sf.first_live is not None:
                    first = np.where(pos >= 0, sf.first_live[np.maximum(pos, 0)], -1)
                    last = np.where(pos >= 0, sf.last_live[np.maximum(pos, 0)], -1)
                    keep = live_fraction(first, last, ys, xs, p) >= self.hparams.min_live_fraction
                else:
                    keep = np.ones((len(ys), len(xs)), bool)
                for regime, (lo, hi) in (("train", (0, train_end)), ("val", (val_start, split_n))):
                    if role not in ("split", regime):
                        continue
                    if axis == "inline" and not is_2d:  # the section lies in one region or none
                        if not lo <= k < hi:
                            continue
                        x_ok, x_lo, x_hi = np.ones(len(xs), bool), 0, width
                    else:  # patches run along the split direction: confine them to the region
                        x_ok, x_lo, x_hi = (xs >= lo) & (xs + p <= hi), lo, hi
                    yy, xx = np.nonzero(keep & x_ok[None, :])
                    if len(yy) == 0:
                        continue
                    rows = np.column_stack([np.full(len(yy), f), np.full(len(yy), AXIS_IDS[axis]), np.full(len(yy), k),
                                            ys[yy], xs[xx], np.full(len(yy), x_lo), np.full(len(yy), x_hi)])
                    (train if regime == "train" else val).append(rows)
        return train, val

    def setup(self, stage: str | None = None) -> None:
        """Open the files, estimate normalization, and build the train / validation patch index."""
        if self.files:
            return
        paths = self._roles()
        train_rows: list[np.ndarray] = []
        val_rows: list[np.ndarray] = []
        for f, (path, role) in enumerate(paths):
            sf = self._open(path)
            self.files.append(sf)
            tr, va = self._index_file(f, sf, role)
            if not tr and not va:
                vol = sf.volume
                shapes = ", ".join(f"{a} {vol.n_samples} x {vol.section_width(a)}"
                                   for a in self.axes if a in vol.axes)
                raise file_error(path, f"no usable {self.patch} x {self.patch} patches: sections are {shapes} "
                                       "(samples x traces), or too few live samples; lower data.patch_size or "
                                       "data.min_live_fraction")
            train_rows += tr
            val_rows += va
        self.train_index = np.concatenate(train_rows) if train_rows else np.zeros((0, 7), np.int64)
        self.val_index = np.concatenate(val_rows) if val_rows else np.zeros((0, 7), np.int64)
        if len(self.train_index) == 0:
            raise SeisfuseError("no training patches: every patch fell in the validation region or was dropped; "
                                "check data.val_fraction, data.split_gap and data.min_live_fraction")
        if len(self.val_index) == 0 and (self.val_paths or self.hparams.val_fraction > 0):
            raise SeisfuseError("no validation patches: the validation region is narrower than a patch; raise "
                                "data.val_fraction or lower data.patch_size")
        test_rows: list[np.ndarray] = []
        for path in self.test_paths:
            self.files.append(self._open(path))
            test_rows += self._index_file(len(self.files) - 1, self.files[-1], "val")[1]
        if self.test_paths and not test_rows:
            raise SeisfuseError(f"no usable {self.patch} x {self.patch} patches in data.test_files")
        self.test_index = np.concatenate(test_rows) if test_rows else self.val_index

    # ------------------------------------------------------------ loaders
    def train_dataset(self) -> PatchDataset:
        """Jittered, flipped training patches."""
        return PatchDataset(self.files, self.train_index, self.patch, self.pipeline,
                            jitter=self.hparams.stride // 2 if self.hparams.jitter else 0, flip=self.hparams.flip)

    def val_dataset(self) -> PatchDataset:
        """Fixed validation patches."""
        return PatchDataset(self.files, self.val_index, self.patch, self.pipeline)

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(ds, batch_size=self.hparams.batch_size, shuffle=shuffle, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(), drop_last=shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_dataset(), shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        if len(self.val_index) == 0:
            return []
        return self._loader(self.val_dataset(), shuffle=False)

    def test_dataloader(self) -> DataLoader:
        """Patches of data.test_files, or the validation patches without test files."""
        return self._loader(PatchDataset(self.files, self.test_index, self.patch, self.pipeline), shuffle=False)

    def panels(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """A few whole validation sections as (name, raw, edge) in [0, 1], the same every epoch."""
        out: list[tuple[str, np.ndarray, np.ndarray]] = []
        n = self.hparams.val_panels
        val_files = [f for f, (_, role) in enumerate(self._roles()) if role in ("val", "split")]
        for f in val_files:
            sf = self.files[f]
            g = sf.volume.geometry
            lo, hi = self._val_regions.get(f, (0, g.grid.shape[1] if g.kind == "2d" else g.grid.shape[0]))
            if g.kind == "2d":
                picks = [("inline", 0, lo, hi)]
            else:
                ks = np.unique(np.linspace(lo, hi - 1, num=max(1, n)).round().astype(int))
                picks = [("inline", int(k), 0, None) for k in ks]
            for axis, k, a, b in picks:
                raw = sf.normalizer.forward(sf.section(axis, k))
                edge = self.pipeline(raw)
                key = int(sf.volume.section_keys(axis)[k])
                name = f"{Path(sf.path).stem} {axis} {key}" if g.kind == "3d" else f"{Path(sf.path).stem} line"
                out.append((name, raw[:, a:b], edge[:, a:b]))
                if len(out) >= n:
                    return out
        return out

    def _roles(self) -> list[tuple[str, str]]:
        roles = [(p, "split" if not self.val_paths else "train") for p in self.train_paths]
        return roles + [(p, "val") for p in self.val_paths]

    def describe(self) -> str:
        """One line: files, patches per split."""
        return (f"{len(self.files)} file(s), {len(self.train_index)} training and {len(self.val_index)} validation "
                f"patches of {self.patch} x {self.patch}; edges: {self.pipeline.describe()}")

    def state_info(self) -> dict[str, Any]:
        """Facts worth recording with a run (patch counts, per-file clips)."""
        return {"train_patches": int(len(self.train_index)), "val_patches": int(len(self.val_index)),
                "clips": {Path(sf.path).name: sf.normalizer.clip for sf in self.files}}

