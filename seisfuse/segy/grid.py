"""The volume contract: what every volume offers on its inline x crossline grid, and its writable copies.

:class:`GridVolume` declares everything callers use, abstract where the storage decides:
reading traces, the sample axis and text, time slices, trace coordinates, the facts
`info` reports, and making a writable copy for outputs (:class:`WritableVolume`). SEG-Y
files (:class:`~seisfuse.segy.volume.Volume`) and MDIO datasets
(:class:`~seisfuse.segy.mdio.MdioVolume`) implement it completely and share everything
else here (sections, their keys and widths, blocks, live traces, trace samples); no caller
asks which kind a volume is.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from seisfuse.errors import SettingError, file_error
from seisfuse.segy.geometry import Geometry

AXES = ("inline", "crossline")
#: What `--axis` and PredictOptions.axis accept: AXES, plus auto (along the line) and both (averaged)
AXIS_CHOICES = ("auto", "inline", "crossline", "both")
DEFAULT_SAMPLE_TRACES = 2000


def check_axis_choice(axis: str) -> str:
    """axis if it is one of AXIS_CHOICES, else a SettingError naming them."""
    if axis not in AXIS_CHOICES:
        raise SettingError("axis", f"must be {', '.join(AXIS_CHOICES[:-1])} or {AXIS_CHOICES[-1]}, got {axis!r}")
    return axis


def live_ranges(traces: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """First and last non-zero finite sample of each trace (rows; -1 for dead traces) and the non-finite count."""
    bad = ~np.isfinite(traces)
    nz = (traces != 0) & ~bad
    live = nz.any(axis=1)
    first = np.where(live, np.argmax(nz, axis=1), -1)
    last = np.where(live, traces.shape[1] - 1 - np.argmax(nz[:, ::-1], axis=1), -1)
    return first, last, int(bad.sum())


class GridVolume(abc.ABC):
    """Sections of a volume whose traces sit on a Geometry grid (-1 where no trace exists)."""

    path: Path
    geometry: Geometry
    n_samples: int
    samples: np.ndarray  # sample times (ms) or depths, from the file
    n_traces: int
    dt_ms: float  # sample interval in the sample axis' unit
    #: stored as a folder (MDIO): its outputs are folders too, named with one of `suffixes`
    is_folder: ClassVar[bool] = False
    suffixes: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------ what the storage provides
    @abc.abstractmethod
    def read_traces(self, idx: np.ndarray) -> np.ndarray:
        """Samples of the given trace indices (all >= 0) as float32 (len(idx), samples)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release file handles (reopened on next use)."""

    @property
    @abc.abstractmethod
    def vertical(self) -> tuple[str, str]:
        """The sample axis as (name, unit): ('twt', 'ms'), or ('depth', 'm' or 'ft')."""

    @property
    @abc.abstractmethod
    def text_header(self) -> str:
        """A textual description stored with the data (SEG-Y's 3200-byte header)."""

    @abc.abstractmethod
    def time_slice(self, sample: int) -> np.ndarray:
        """One sample of every position on the grid, float32 (inlines, crosslines); missing positions are zero."""

    @abc.abstractmethod
    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Trace x and y coordinates on the grid (inlines, crosslines), NaN where no trace or none stored."""

    @abc.abstractmethod
    def storage_facts(self) -> dict[str, Any]:
        """How the samples are stored (format, byte order, chunks, extra headers), for `seisfuse info`."""

    @abc.abstractmethod
    def create_copy(self, dst: str | os.PathLike) -> WritableVolume:
        """Make dst a copy of this volume (every header kept, float samples) and open it for writing."""

    @abc.abstractmethod
    def open_copy(self, path: str | os.PathLike) -> WritableVolume:
        """Open a copy that create_copy made (in this or another process) for writing."""

    def check_output_name(self, out: str | os.PathLike) -> None:
        """Raise unless out names an output of this volume's kind (an MDIO input is written as MDIO, and back)."""
        named_folder = Path(out).suffix.lower() in (".mdio",)
        if named_folder != self.is_folder:
            want = "*" + self.suffixes[0] if self.suffixes else "*.sgy"
            raise file_error(out, f"{self.path.name} is written as {'MDIO' if self.is_folder else 'SEG-Y'}: name the "
                                  f"output {want}")

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
        check_axis_choice(axis)
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

    def sample_trace_indices(self, n_traces: int = DEFAULT_SAMPLE_TRACES, seed: int = 0) -> np.ndarray:
        """A reproducible random sample of the trace indices on the grid, in file order."""
        live = self.live_trace_indices()
        if len(live) > n_traces:
            live = np.sort(np.random.default_rng(seed).choice(live, size=n_traces, replace=False))
        return live

    def sample_traces(self, n_traces: int = DEFAULT_SAMPLE_TRACES, seed: int = 0) -> np.ndarray:
        """Read a reproducible random sample of the volume's traces (rows), in file order."""
        return self.read_traces(self.sample_trace_indices(n_traces, seed))

    def read_grid(self) -> np.ndarray:
        """The whole volume (inlines, crosslines, samples) in memory; missing positions are zero."""
        grid = self.geometry.grid
        data = np.zeros((*grid.shape, self.n_samples), dtype=np.float32)
        live = grid >= 0
        data[live] = self.read_traces(grid[live])
        return data

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
        """Several sections (len(indices), samples, traces) in one read: file order, contiguous runs together. A
        transposed view of the traces as read: each section is made contiguous by whoever uses it (one big
        transposing copy of the block costs more than the read)."""
        grid = self.geometry.grid
        pos = grid[:, indices].T if axis == "crossline" else grid[indices, :]  # (sections, traces)
        out = np.zeros((len(indices), pos.shape[1], self.n_samples), dtype=np.float32)
        live = pos >= 0
        flat = pos[live]
        order = np.argsort(flat, kind="stable")
        data = np.empty((len(flat), self.n_samples), dtype=np.float32)
        data[order] = self.read_traces(flat[order])
        out[live] = data
        return out.transpose(0, 2, 1)

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


class WritableVolume(GridVolume):
    """A copy of a volume opened for writing new samples, section by section or trace by trace."""

    @abc.abstractmethod
    def write_traces(self, idx: np.ndarray, data: np.ndarray) -> None:
        """Overwrite the samples of the given trace indices (positions on the grid) with data (len(idx), samples)."""

    @abc.abstractmethod
    def write_section(self, axis: str, index: int, data: np.ndarray) -> None:
        """Write one section (samples, traces); positions without a trace are skipped."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Push written samples to storage."""

    def write_grid(self, data: np.ndarray) -> None:
        """Write a whole (inlines, crosslines, samples) volume; missing positions are skipped."""
        grid = self.geometry.grid
        live = grid >= 0
        self.write_traces(grid[live], np.asarray(data, dtype=np.float32)[live])
