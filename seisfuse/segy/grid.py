"""What every volume offers on its inline x crossline grid: sections, their keys and widths, live traces.

A subclass provides `path`, `geometry`, `n_samples`, `samples`, `n_traces`, `read_traces` and
`close`: SEG-Y files (:class:`~seisfuse.segy.volume.Volume`) and MDIO datasets
(:class:`~seisfuse.segy.mdio.MdioVolume`) share everything here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from seisfuse.errors import SettingError, file_error
from seisfuse.segy.geometry import Geometry

AXES = ("inline", "crossline")


def live_ranges(traces: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """First and last non-zero finite sample of each trace (rows; -1 for dead traces) and the non-finite count."""
    bad = ~np.isfinite(traces)
    nz = (traces != 0) & ~bad
    live = nz.any(axis=1)
    first = np.where(live, np.argmax(nz, axis=1), -1)
    last = np.where(live, traces.shape[1] - 1 - np.argmax(nz[:, ::-1], axis=1), -1)
    return first, last, int(bad.sum())


class GridVolume:
    """Sections of a volume whose traces sit on a Geometry grid (-1 where no trace exists)."""

    path: Path
    geometry: Geometry
    n_samples: int
    samples: np.ndarray
    n_traces: int

    def read_traces(self, idx: np.ndarray) -> np.ndarray:
        """Samples of the given trace indices (all >= 0) as float32 (len(idx), samples)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release file handles (reopened on next use)."""

    def __enter__(self) -> GridVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def axes(self) -> tuple[str, ...]:
        """Section axes this file has: both for 3D, only 'inline' for a 2D line or gathers (one per gather)."""
        return AXES if self.geometry.kind == "3d" else ("inline",)

    def fusion_axes(self, axis: str) -> list[str]:
        """The section directions to fuse for axis auto, inline, crossline or both; never one trace wide.

        auto: inline sections of a 3D survey, the one line of a 2D line, of a single inline or crossline of a 3D
        survey, or one section per gather.
        """
        if axis not in ("auto", "inline", "crossline", "both"):
            raise SettingError("axis", f"must be auto, inline, crossline or both, got {axis!r}")
        if self.geometry.kind != "3d":
            if axis == "crossline":
                what = "gathers have" if self.geometry.kind == "gathers" else "a 2D line has"
                raise SettingError("axis", f"{self.path}: no crossline sections: {what} one section per line or "
                                           "gather; use auto or inline")
            return ["inline"]
        if self.geometry.single_line == "crossline":
            if axis == "inline":
                raise SettingError("axis", f"{self.path}: a single crossline of a 3D survey: its inline sections are "
                                           "one trace wide; use auto or crossline")
            return ["crossline"]
        return {"auto": ["inline"], "both": ["inline", "crossline"]}.get(axis, [axis])

    def _check_axis(self, axis: str) -> None:
        if axis not in self.axes:
            kind = "a 2D line has only" if self.geometry.kind == "2d" else "valid axes are"
            raise file_error(self.path, f"no {axis!r} sections: {kind} {', '.join(self.axes)}")

    def n_sections(self, axis: str) -> int:
        """Number of sections along axis."""
        self._check_axis(axis)
        return self.geometry.grid.shape[0 if axis == "inline" else 1]

    def section_width(self, axis: str) -> int:
        """Traces (grid positions) per section along axis."""
        self._check_axis(axis)
        return self.geometry.grid.shape[1 if axis == "inline" else 0]

    def section_positions(self, axis: str, index: int) -> np.ndarray:
        """Trace indices of one section (-1 where the grid has no trace)."""
        self._check_axis(axis)
        grid = self.geometry.grid
        n = self.n_sections(axis)
        if not 0 <= index < n:
            raise file_error(self.path, f"{axis} section index {index} out of range 0..{n - 1}")
        return grid[index] if axis == "inline" else grid[:, index]

    def section_keys(self, axis: str) -> np.ndarray:
        """Header key (line number) of each section along axis."""
        self._check_axis(axis)
        return self.geometry.ilines if axis == "inline" else self.geometry.xlines

    def section_index(self, axis: str, key: int) -> int:
        """Position of the section whose line number is key."""
        keys = self.section_keys(axis)
        hit = np.flatnonzero(keys == key)
        if len(hit) == 0:
            raise file_error(self.path, f"no {axis} {key}; {axis} numbers run {keys.min()}..{keys.max()}")
        return int(hit[0])

    def section(self, axis: str, index: int) -> np.ndarray:
        """One inline or crossline section, float32 (samples, traces); missing traces are zero."""
        return self.section_traces(axis, index, 0, None)

    def section_traces(self, axis: str, index: int, start: int, stop: int | None) -> np.ndarray:
        """Traces start..stop of a section, float32 (samples, traces); missing traces are zero."""
        pos = self.section_positions(axis, index)[start:stop]
        live = pos >= 0
        if live.all():
            return np.ascontiguousarray(self.read_traces(pos).T)
        out = np.zeros((self.n_samples, len(pos)), dtype=np.float32)
        out[:, live] = self.read_traces(pos[live]).T
        return out

    def sections(self, axis: str) -> Iterator[tuple[int, np.ndarray]]:
        """Iterate (index, section) along axis without loading the volume."""
        for k in range(self.n_sections(axis)):
            yield k, self.section(axis, k)

    def sample_index(self, time: float) -> int:
        """Index of the sample nearest to a time (or depth) in header units."""
        return int(np.argmin(np.abs(self.samples - time)))

    def live_trace_indices(self) -> np.ndarray:
        """Indices of all traces on the grid, sorted."""
        grid = self.geometry.grid
        return np.sort(grid[grid >= 0])

    def scan_live(self, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, int]:
        """Per-trace first and last non-zero sample (-1 for dead traces) and the count of non-finite samples."""
        first = np.full(self.n_traces, -1, dtype=np.int64)
        last = np.full(self.n_traces, -1, dtype=np.int64)
        nonfinite = 0
        for a in range(0, self.n_traces, chunk):
            b = min(a + chunk, self.n_traces)
            first[a:b], last[a:b], bad = live_ranges(self.read_traces(np.arange(a, b)))
            nonfinite += bad
        return first, last, nonfinite

    def section_chunk(self, axis: str) -> int:
        """Sections per storage chunk along axis (1: each section is stored on its own)."""
        return 1

    def strided(self, axis: str) -> bool:
        """True when a section along axis gathers traces spread over the file (crosslines of an inline-sorted
        file, inlines of a crossline-sorted one): such sections are best read in blocks."""
        sorting = getattr(self.geometry, "sorting", "inline")
        return self.geometry.kind == "3d" and (sorting == "unsorted" or (sorting == "inline") == (axis == "crossline"))

    def section_block(self, axis: str, indices: list[int]) -> np.ndarray:
        """Several sections (len(indices), samples, traces) in one read: file order, contiguous runs together."""
        grid = self.geometry.grid
        pos = grid[:, indices].T if axis == "crossline" else grid[indices, :]  # (sections, traces)
        out = np.zeros((len(indices), pos.shape[1], self.n_samples), dtype=np.float32)
        live = pos >= 0
        flat = pos[live]
        order = np.argsort(flat, kind="stable")
        data = np.empty((len(flat), self.n_samples), dtype=np.float32)
        data[order] = self.read_traces(flat[order])
        out[live] = data
        return np.ascontiguousarray(out.transpose(0, 2, 1))

    def block_size(self, axis: str, max_bytes: int) -> int:
        """Sections per block so that a block of float32 sections stays under max_bytes (at least 1)."""
        per_section = self.n_samples * self.section_width(axis) * 4
        return max(1, int(max_bytes // max(per_section, 1)))

    def sections_in_blocks(self, axis: str, max_bytes: int = 128 * 2**20) -> Iterator[tuple[int, np.ndarray]]:
        """Iterate (index, section) along axis, strided axes read in blocks: one pass over the file per block."""
        if not self.strided(axis):
            yield from self.sections(axis)
            return
        n, b = self.n_sections(axis), self.block_size(axis, max_bytes)
        for start in range(0, n, b):
            ks = list(range(start, min(n, start + b)))
            yield from zip(ks, self.section_block(axis, ks), strict=True)
