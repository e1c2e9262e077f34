"""The files of a training run: their start-up facts, their spatial split and the patch index of each split.

* Each file is read at most once at start-up (`cache.py`): rank 0 computes the live-sample
  ranges, the normalization clip and (with a cache folder) the fast .npy copy, and saves them
  beside the cache or in the run folder; every other rank and every requeue loads them.
* Train and validation are split **spatially** (`index.py`): without validation files, the
  last `val_fraction` of each survey's inlines (of a 2D line's traces) is validation, with a
  gap (default: one patch) before it.
* Patches whose samples are mostly dead traces, missing traces or zero padding (mutes) are
  dropped (`Sampling.min_live_fraction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seisfuse.branches import Branches, BranchSettings, fit_normalizer
from seisfuse.data.cache import FileStats, cache_file_for, scan_file
from seisfuse.data.datasets import SurveyFile
from seisfuse.data.index import Region, Sampling, empty_index, index_file, split_length, split_regions
from seisfuse.errors import SeisfuseError, file_error
from seisfuse.normalize import Normalizer
from seisfuse.segy import GridVolume, HeaderBytes, open_volume


def section_axes(volume: GridVolume, axis: str, start: int = 0, stop: int | None = None) -> dict:
    """The axes of traces start:stop of a section in header units: trace keys across, time (or depth) down."""
    keys = volume.geometry.xlines if axis == "inline" else volume.geometry.ilines
    keys = keys[start:stop]
    vert, unit = volume.vertical
    across = "crossline" if axis == "inline" and volume.geometry.kind == "3d" else "inline" if axis == "crossline" \
        else "trace key"
    return {"x_label": across, "x0": float(keys[0]), "x1": float(keys[-1]),
            "y_label": f"{'time' if vert == 'twt' else 'depth'} ({unit})", "y0": float(volume.samples[0]),
            "y1": float(volume.samples[-1])}


@dataclass
class Surveys:
    """The training, validation and test files of a run, opened, split and indexed."""

    train_paths: list[str]
    val_paths: list[str]
    test_paths: list[str]
    settings: BranchSettings
    sampling: Sampling
    header_bytes: HeaderBytes | None
    val_fraction: float
    gap: int
    seed: int = 0
    cache_dir: str | None = None
    files: list[SurveyFile] = field(default_factory=list)
    train_index: np.ndarray = field(default_factory=empty_index)
    val_index: np.ndarray = field(default_factory=empty_index)
    test_index: np.ndarray = field(default_factory=empty_index)
    val_regions: dict[int, Region] = field(default_factory=dict)

    def roles(self) -> list[tuple[str, str]]:
        """(path, role) of the training and validation files: split spatially, or whole train / val files."""
        roles = [(p, "split" if not self.val_paths else "train") for p in self.train_paths]
        return roles + [(p, "val") for p in self.val_paths]

    def all_paths(self) -> list[str]:
        """Every file the run reads."""
        return self.train_paths + self.val_paths + self.test_paths

    # ------------------------------------------------------------ start-up facts
    def prepare(self, facts_folder: Path | None) -> None:
        """Read each file once for what start-up needs (and build the caches)."""
        for path in self.all_paths():
            with open_volume(path, self.header_bytes) as vol:
                self.facts(path, vol, facts_folder)

    def facts(self, path: str, volume: GridVolume, folder: Path | None) -> tuple[FileStats, str | None]:
        """The file's start-up facts and its cache: loaded when a rank or an earlier run saved them, else one read."""
        percentile = self.settings.clip_percentile
        cache = cache_file_for(path, self.cache_dir, str(self.header_bytes)) if self.cache_dir else None
        target = cache_file_for(path, str(folder), f"{self.header_bytes}|{percentile}|{self.seed}", ".stats.npz") \
            if folder is not None else None
        if target is not None and target.exists() and (cache is None or cache.exists()):
            return FileStats.load(target), str(cache) if cache else None
        if self.sampling.min_live_fraction == 0 and cache is None:  # no full read needed: the clip's sample only
            clip = fit_normalizer(volume, percentile, seed=self.seed).clip
            stats = FileStats(clip, np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
        else:
            stats = scan_file(volume, percentile, self.seed, cache if cache is not None and not cache.exists() else None)
        if target is not None:
            stats.save(target)
        return stats, str(cache) if cache else None

    def _open(self, path: str, folder: Path | None) -> SurveyFile:
        vol = open_volume(path, self.header_bytes)
        stats, cache = self.facts(path, vol, folder)
        live = (stats.first_live, stats.last_live) if self.sampling.min_live_fraction > 0 else (None, None)
        vol.close()
        norm = Normalizer(stats.clip, self.settings.clip_percentile)
        return SurveyFile(path, vol, Branches(self.settings, norm), *live, cache)

    # ------------------------------------------------------------ the index
    def _regions(self, f: int, sf: SurveyFile, role: str) -> dict[str, Region]:
        """Regions of one file: both halves of a survey split spatially, or the whole file in one role."""
        n = split_length(sf.volume)
        if role != "split":
            return {role: Region(0, n)}
        regions = split_regions(n, self.val_fraction, self.gap, sf.path)
        self.val_regions[f] = regions.get("val", Region(n, n))
        return regions

    def open(self, facts_folder: Path | None) -> None:
        """Open the files, load their facts, and build the train / validation / test patch index."""
        if self.files:
            return
        p = self.sampling.patch
        found: dict[str, list[np.ndarray]] = {"train": [], "val": []}
        for f, (path, role) in enumerate(self.roles()):
            sf = self._open(path, facts_folder)
            self.files.append(sf)
            rows = index_file(f, sf.volume, self.sampling, self._regions(f, sf, role), sf.live)
            if not any(len(r) for r in rows.values()):
                vol = sf.volume
                shapes = ", ".join(f"{a} {vol.n_samples} x {vol.section_width(a)}"
                                   for a in self.sampling.axes if a in vol.axes)
                raise file_error(path, f"no usable {p} x {p} patches: sections are {shapes} (samples x traces), or too "
                                       "few live samples; lower data.patch_size or data.min_live_fraction")
            for name, r in rows.items():
                found[name].append(r)
        self.train_index = np.concatenate(found["train"]) if found["train"] else empty_index()
        self.val_index = np.concatenate(found["val"]) if found["val"] else empty_index()
        if len(self.train_index) == 0 and self.train_paths:
            raise SeisfuseError("no training patches: every patch fell in the validation region or was dropped; "
                                "check data.val_fraction, data.split_gap and data.min_live_fraction")
        if len(self.val_index) == 0 and (self.val_paths or (self.train_paths and self.val_fraction > 0)):
            raise SeisfuseError("no validation patches: the validation region is narrower than a patch; raise "
                                "data.val_fraction or lower data.patch_size")
        test_rows: list[np.ndarray] = []
        for path in self.test_paths:
            sf = self._open(path, facts_folder)
            self.files.append(sf)
            f = len(self.files) - 1
            test_rows.append(index_file(f, sf.volume, self.sampling, self._regions(f, sf, "test"), sf.live)["test"])
        if self.test_paths and not sum(len(r) for r in test_rows):
            raise SeisfuseError(f"no usable {p} x {p} patches in data.test_files")
        self.test_index = np.concatenate(test_rows) if self.test_paths else self.val_index

    def panel_sections(self, n: int, adapting: bool) -> list[tuple[str, np.ndarray, dict]]:
        """Up to n whole validation sections of the files as (name, branches (N, H, W), axes in header units)."""
        out: list[tuple[str, np.ndarray, dict]] = []
        for f in (f for f, (_, role) in enumerate(self.roles()) if role in ("val", "split")):
            sf = self.files[f]
            g = sf.volume.geometry
            region = self.val_regions.get(f, Region(0, split_length(sf.volume)))
            if region.hi <= region.lo and adapting:  # adapting: the survey itself is judged
                region = Region(0, split_length(sf.volume))
            if region.hi <= region.lo:  # val_fraction 0: this file gives no validation sections
                continue
            if g.kind == "2d":
                picks = [("inline", 0, region.lo, region.hi)]
            else:
                ks = np.unique(np.linspace(region.lo, region.hi - 1, num=max(1, n)).round().astype(int))
                picks = [("inline", int(k), 0, None) for k in ks]
            for axis, k, a, b in picks:
                key = int(sf.volume.section_keys(axis)[k])
                name = f"{Path(sf.path).stem} {axis} {key}" if g.kind == "3d" else f"{Path(sf.path).stem} line"
                stack = sf.branches.stack(sf.section(axis, k)[:, a:b])
                out.append((name, stack, section_axes(sf.volume, axis, a, b)))
                if len(out) >= n:
                    return out
        return out
