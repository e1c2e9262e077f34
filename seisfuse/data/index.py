"""The patch index: where training and validation patches lie, as a structured (named-field) array.

A row names a patch by file, axis, section and top-left corner (y0, x0), and the range
[x_lo, x_hi) its columns may move in when jittered. Train and validation are split
spatially along one direction (inlines of a 3D survey, traces of a 2D line): a patch
whose columns run along that direction is confined to its region, a section across it
belongs to the region it lies in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seisfuse.errors import file_error
from seisfuse.files import expand_paths
from seisfuse.segy import GridVolume

AXIS_IDS = {"inline": 0, "crossline": 1}
AXIS_NAMES = {v: k for k, v in AXIS_IDS.items()}
PATCH = np.dtype([("file", np.int32), ("axis", np.int8), ("section", np.int32), ("y0", np.int32), ("x0", np.int32),
                  ("x_lo", np.int32), ("x_hi", np.int32)])


def empty_index() -> np.ndarray:
    """An index with no patches."""
    return np.zeros(0, dtype=PATCH)


def expand_files(spec: str | list[str] | None, what: str) -> list[str]:
    """Paths of data.<what> from a list of files and glob patterns, each pattern required to match something."""
    return expand_paths(spec, f"data.{what}", must_exist=True)


def grid_positions(length: int, patch: int, stride: int) -> np.ndarray:
    """Patch starts every stride, plus one aligned to the end so the whole length is covered."""
    if length < patch:
        return np.zeros(0, dtype=np.int64)
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return np.asarray(starts, dtype=np.int64)


def live_fraction(first: np.ndarray, last: np.ndarray, ys: np.ndarray, xs: np.ndarray, patch: int) -> np.ndarray:
    """Fraction of live samples in every (y0, x0) patch of a section, shape (len(ys), len(xs))."""
    lo = np.maximum(first[None, :], ys[:, None])
    hi = np.minimum(last[None, :], ys[:, None] + patch - 1)
    overlap = np.where(first[None, :] >= 0, np.clip(hi - lo + 1, 0, None), 0).astype(np.float64)
    csum = np.concatenate([np.zeros((len(ys), 1)), np.cumsum(overlap, axis=1)], axis=1)
    return (csum[:, xs + patch] - csum[:, xs]) / float(patch * patch)


@dataclass(frozen=True)
class Region:
    """Positions [lo, hi) along a survey's split direction."""

    lo: int
    hi: int


def split_length(volume: GridVolume) -> int:
    """Positions along the split direction: inlines of a 3D survey (or gathers), traces of a 2D line."""
    g = volume.geometry
    return g.grid.shape[1] if g.kind == "2d" else g.grid.shape[0]


def split_regions(n: int, val_fraction: float, gap: int, path: str) -> dict[str, Region]:
    """Training and validation regions of a survey split spatially: the last val_fraction, a gap before it."""
    n_val = math.ceil(val_fraction * n)
    if n_val == 0:
        return {"train": Region(0, n)}
    val_start = n - n_val
    train_end = val_start - gap
    if train_end <= 0:
        raise file_error(path, f"too small to split: {n} positions along the split direction leave no training region "
                               f"after {n_val} validation positions and a gap of {gap}; set data.val_files, or a smaller "
                               "data.val_fraction / data.split_gap / data.patch_size")
    return {"train": Region(0, train_end), "val": Region(val_start, n)}


@dataclass(frozen=True)
class Sampling:
    """How patches are laid out: size, stride, section directions and the live-sample threshold."""

    patch: int
    stride: int
    axes: tuple[str, ...]
    min_live_fraction: float


def index_file(f: int, volume: GridVolume, sampling: Sampling, regions: dict[str, Region],
               live: tuple[np.ndarray, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Patch rows of one file per region name; live = per-trace (first, last) live sample, or None to keep all."""
    p = sampling.patch
    across_split = volume.geometry.kind != "2d"  # inline sections of a 3D survey (or gathers) lie across the split
    ys = grid_positions(volume.n_samples, p, sampling.stride)
    rows: dict[str, list[np.ndarray]] = {name: [] for name in regions}
    for axis in (a for a in sampling.axes if a in volume.axes):
        width = volume.section_width(axis)
        xs = grid_positions(width, p, sampling.stride)
        if len(ys) == 0 or len(xs) == 0:
            continue
        for k in range(volume.n_sections(axis)):
            keep = np.ones((len(ys), len(xs)), bool)
            if live is not None:
                pos = volume.section_positions(axis, k)
                first = np.where(pos >= 0, live[0][np.maximum(pos, 0)], -1)
                last = np.where(pos >= 0, live[1][np.maximum(pos, 0)], -1)
                keep = live_fraction(first, last, ys, xs, p) >= sampling.min_live_fraction
            for name, r in regions.items():
                if axis == "inline" and across_split:
                    if not r.lo <= k < r.hi:
                        continue
                    x_ok, x_lo, x_hi = np.ones(len(xs), bool), 0, width
                else:
                    x_ok, x_lo, x_hi = (xs >= r.lo) & (xs + p <= r.hi), r.lo, r.hi
                yy, xx = np.nonzero(keep & x_ok[None, :])
                block = np.zeros(len(yy), dtype=PATCH)
                block["file"], block["axis"], block["section"] = f, AXIS_IDS[axis], k
                block["y0"], block["x0"], block["x_lo"], block["x_hi"] = ys[yy], xs[xx], x_lo, x_hi
                rows[name].append(block)
    return {name: np.concatenate(r) if r else empty_index() for name, r in rows.items()}
