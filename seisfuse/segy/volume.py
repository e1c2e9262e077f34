"""The :class:`Volume`: a lazy, memory-mapped view of a post-stack SEG-Y file and its trace geometry.

Its geometry is built from two trace-header words (inline and crossline keys), so
inline-sorted, crossline-sorted, irregular (missing traces) and 2D files all look the
same: a grid of trace indices, ``-1`` where no trace exists. Sections are float32 arrays
of shape ``(samples, traces)``; a 2D line is exposed as the single section of axis
``inline``. Reading uses segyio's C line reads (memory-mapped) where positions are
regular. Writable copies of a file (every header kept, new samples) are :class:`OutputVolume`, made by
:func:`create_output`; new files are written by `writing.py`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import segyio

from seisfuse.errors import SeisfuseError, file_error
from seisfuse.segy.formats import (
    FILE_HEADER_BYTES,
    FLOAT_FORMATS,
    FORMATS,
    IBM_FLOAT,
    MEASUREMENT_SYSTEM_OFFSET,
    TEXT_HEADER_BYTES,
    TRACE_HEADER_BYTES,
    copy_as_ieee,
    decode_text_header,
    read_extended_text_headers,
    read_file_header,
)
from seisfuse.segy.geometry import Geometry, HeaderBytes, detect_geometry, header_bytes_from
from seisfuse.segy.grid import GridVolume, WritableVolume


def _open_segyio(path: Path, endian: str, mode: str = "r") -> segyio.SegyFile:
    """Open with segyio, ignoring its own geometry inference, mapping its errors to ours."""
    try:
        f = segyio.open(os.fspath(path), mode, ignore_geometry=True, endian=endian)
    except RuntimeError as exc:
        msg = str(exc)
        if "inconsistent with file size" in msg:
            raise file_error(path, "truncated or corrupt SEG-Y: the file size is not a whole number of traces") from None
        if "no data traces" in msg:
            raise file_error(path, "SEG-Y file contains no traces") from None
        raise file_error(path, f"not a readable SEG-Y file ({msg})") from None
    except OSError as exc:
        raise file_error(path, f"cannot open: {exc.strerror or exc}") from None
    if f.tracecount == 0:
        f.close()
        raise file_error(path, "SEG-Y file contains no traces")
    return f


class Volume(GridVolume):
    """A lazy, memory-mapped post-stack SEG-Y file with its trace geometry."""

    #: "r" reads through segyio's memory map; writable copies ("r+") read and write their own trace table
    mode = "r"
    suffixes = (".sgy", ".segy")

    def __init__(self, path: str | os.PathLike, header_bytes: HeaderBytes | str | None = None, *,
                 geometry: Geometry | None = None) -> None:
        """Open path; the geometry comes from header_bytes (None: detect), or is given (a copy of a known file)."""
        self.path = Path(path)
        if isinstance(header_bytes, str):
            header_bytes = header_bytes_from(preset=header_bytes)
        head = read_file_header(self.path)
        self.endian = head.endian
        self.format = head.format
        self.ext_headers = head.ext_headers
        self._pid = -1
        self._f: segyio.SegyFile | None = None
        self._mm: np.memmap | None = None
        f = self._handle
        self.n_traces = int(f.tracecount)
        self.samples = np.asarray(f.samples, dtype=np.float64)
        self.n_samples = len(self.samples)
        self.dt_ms = float(segyio.tools.dt(f, fallback_dt=4000.0)) / 1000.0
        if geometry is None:
            self._check_not_dead()
        self.geometry = geometry if geometry is not None else detect_geometry(f, self.path, header_bytes)
        self._check_layout()

    # -- file handles: opened lazily, once per process, so a Volume can be pickled to workers
    @property
    def _handle(self) -> segyio.SegyFile:
        if self._f is None or self._pid != os.getpid():
            self._f = _open_segyio(self.path, self.endian, self.mode)
            self._mm = None
            if self.mode == "r":
                self._f.mmap()
            self._pid = os.getpid()
        return self._f

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_f"] = None
        state["_mm"] = None
        state["_pid"] = -1
        return state

    def close(self) -> None:
        """Release the file handle (reopened on next use)."""
        if self._mm is not None:
            self._mm.flush()
            self._mm = None
        if self._f is not None and self._pid == os.getpid():
            self._f.close()
        self._f = None

    def __repr__(self) -> str:
        g = self.geometry
        return (f"Volume({self.path.name!r}, {g.kind}, {len(g.ilines)}x{len(g.xlines)} positions, "
                f"{self.n_samples} samples, format {self.format})")

    def _check_not_dead(self, n: int = 2048) -> None:
        """Fail at once when evenly spread traces are all zero or all NaN/Inf (before reading every trace header)."""
        step = max(1, self.n_traces // n)
        idx = np.arange(0, self.n_traces, step, dtype=np.int64)[:n]  # evenly spaced: one strided read
        traces = np.asarray(self._handle.trace.raw[0: int(idx[-1]) + 1: step], dtype=np.float32)
        finite = np.isfinite(traces)
        if not finite.any():
            raise file_error(self.path, f"all {len(idx)} sampled traces hold only NaN or Inf; nothing to fuse")
        if not np.any(traces[finite] != 0):
            raise file_error(self.path, f"all {len(idx)} sampled traces are zero (dead); nothing to fuse")

    # -- layout
    @property
    def trace_bytes(self) -> int:
        """Bytes per trace, header included."""
        return TRACE_HEADER_BYTES + self.n_samples * FORMATS[self.format][2]

    @property
    def data_offset(self) -> int:
        """Byte offset of the first trace header."""
        return FILE_HEADER_BYTES + self.ext_headers * TEXT_HEADER_BYTES

    def _check_layout(self) -> None:
        """Guard the fixed-length trace layout that the fast write path relies on."""
        expected = self.data_offset + self.n_traces * self.trace_bytes
        if self.path.stat().st_size != expected:
            raise file_error(self.path, "truncated or corrupt SEG-Y: the file size is not a whole number of traces")

    @property
    def text_header(self) -> str:
        """The 3200-byte textual header as text, decoded from ASCII or EBCDIC, whichever it is."""
        with open(self.path, "rb") as fh:
            return decode_text_header(fh.read(TEXT_HEADER_BYTES))

    @property
    def vertical(self) -> tuple[str, str]:
        """The sample axis as (name, unit): ('twt', 'ms'), or ('depth', 'm' or 'ft') for depth-domain files.

        SEG-Y has no sample-domain field before rev 2, so a file counts as depth when its text header says
        DEPTH more often than TIME/TWT; the unit of depth comes from the binary header's measurement system.
        """
        text = self.text_header.upper()
        depth = len(re.findall(r"\bDEPTH\b|\bTVDSS\b|\bZ-?DOMAIN\b", text))
        time = len(re.findall(r"\bTIME\b|\bTWT\b|\bMS\b|\bMSEC\b", text))
        if depth > time:
            with open(self.path, "rb") as fh:
                fh.seek(TEXT_HEADER_BYTES + MEASUREMENT_SYSTEM_OFFSET)
                system = int.from_bytes(fh.read(2), self.endian)
            return "depth", "ft" if system == 2 else "m"
        return "twt", "ms"

    @property
    def extended_text_headers(self) -> list[str]:
        """The extended textual headers (SEG-Y rev 1), decoded as text; empty for most files."""
        return read_extended_text_headers(self.path, self.ext_headers)

    def storage_facts(self) -> dict:
        """Sample format, byte order and extended textual headers."""
        facts = {"format": f"{self.format} ({FORMATS[self.format][0]})", "endian": self.endian,
                 "ext_text_headers": self.ext_headers}
        if self.ext_headers:
            facts["extended_text"] = self.extended_text_headers
        return facts

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """cdp_x, cdp_y on the grid (NaN where no trace), scaled by the coordinate scalar (byte 71)."""
        f = self._handle
        x = np.asarray(f.attributes(segyio.TraceField.CDP_X)[:], dtype=np.float64)
        y = np.asarray(f.attributes(segyio.TraceField.CDP_Y)[:], dtype=np.float64)
        scalar = np.asarray(f.attributes(segyio.TraceField.SourceGroupScalar)[:], dtype=np.float64)
        factor = np.where(scalar > 0, scalar, np.where(scalar < 0, -1.0 / np.where(scalar < 0, scalar, -1.0), 1.0))
        grid = self.geometry.grid
        out_x, out_y = np.full(grid.shape, np.nan), np.full(grid.shape, np.nan)
        live = grid >= 0
        out_x[live] = (x * factor)[grid[live]]
        out_y[live] = (y * factor)[grid[live]]
        return out_x, out_y

    def create_copy(self, dst: str | os.PathLike) -> WritableVolume:
        """A copy of this file at dst, float samples (integer formats become IEEE float), open for writing."""
        return create_output(self, dst)

    def open_copy(self, path: str | os.PathLike) -> WritableVolume:
        """A copy made by create_copy, opened for writing with this file's geometry."""
        return OutputVolume(path, self.geometry.header_bytes, geometry=self.geometry)

    # -- reading
    def read_traces(self, idx: np.ndarray) -> np.ndarray:
        """Samples of the given trace indices (all >= 0) as float32 (len(idx), samples)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.mode == "r+" and self.format != 1:
            return self._memmap()["d"][idx].astype(np.float32)
        out = np.empty((len(idx), self.n_samples), dtype=np.float32)
        if len(idx) == 0:
            return out
        raw = self._handle.trace.raw
        steps = np.diff(idx)
        if len(idx) == 1 or (np.all(steps == steps[0]) and steps[0] != 0):
            step = int(steps[0]) if len(idx) > 1 else 1
            stop = int(idx[-1]) + step
            block = raw[int(idx[0]): (stop if stop >= 0 else None): step]
            return block if block.dtype == np.float32 else block.astype(np.float32)
        starts = np.concatenate([[0], np.flatnonzero(steps != 1) + 1, [len(idx)]])
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            first = int(idx[a])
            out[a:b] = raw[first: first + (b - a)]
        return out

    def time_slice(self, sample: int) -> np.ndarray:
        """One sample of every trace on the grid, float32 (inlines, crosslines)."""
        if not 0 <= sample < self.n_samples:
            raise file_error(self.path, f"time slice sample {sample} out of range 0..{self.n_samples - 1}")
        values = np.asarray(self._handle.depth_slice[sample], dtype=np.float32).reshape(-1)
        grid = self.geometry.grid
        out = np.zeros(grid.shape, dtype=np.float32)
        out[grid >= 0] = values[grid[grid >= 0]]
        return out

    def _memmap(self) -> np.memmap:
        """The trace table as a structured numpy memmap (header bytes, samples), writable in r+ mode."""
        if self._mm is None or self._pid != os.getpid():
            self._handle  # noqa: B018 - make sure the process-local state is current
            order = ">" if self.endian == "big" else "<"
            dtype = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", order + FORMATS[self.format][1], (self.n_samples,))])
            self._mm = np.memmap(self.path, dtype=dtype, mode="r+" if self.mode == "r+" else "r",
                                 offset=self.data_offset, shape=(self.n_traces,))
        return self._mm


class OutputVolume(Volume, WritableVolume):
    """A copy of a source volume, opened read-write, with the source's geometry."""

    mode = "r+"

    def write_traces(self, idx: np.ndarray, data: np.ndarray) -> None:
        """Overwrite the samples of the given traces with data (len(idx), samples)."""
        idx = np.asarray(idx, dtype=np.int64)
        data = np.asarray(data, dtype=np.float32)
        if self.format == IBM_FLOAT:  # segyio encodes IBM floats
            f = self._handle
            for i, row in zip(idx, data, strict=True):
                f.trace[int(i)] = row
        else:
            self._memmap()["d"][idx] = data

    def write_section(self, axis: str, index: int, data: np.ndarray) -> None:
        """Write one section (samples, traces); positions without a trace are skipped."""
        pos = self.section_positions(axis, index)
        if data.shape != (self.n_samples, len(pos)):
            raise ValueError(f"section shape {data.shape} != {(self.n_samples, len(pos))}")
        live = pos >= 0
        self.write_traces(pos[live], data[:, live].T)

    def flush(self) -> None:
        """Push written samples to the file."""
        if self._mm is not None:
            self._mm.flush()
        if self._f is not None and self.format == IBM_FLOAT:
            self._f.flush()

    def layout_matches_segyio(self) -> bool:
        """True when the numpy trace table agrees with segyio's reading of the file (the fast write path)."""
        if self.format == IBM_FLOAT:  # IBM floats are written through segyio itself
            return True
        probe = [0, self.n_traces - 1]
        via_segyio = np.stack([np.asarray(self._handle.trace.raw[i], dtype=np.float32) for i in probe])
        return np.array_equal(via_segyio, self.read_traces(np.array(probe)), equal_nan=True)


def create_output(source: Volume, dst: str | os.PathLike) -> OutputVolume:
    """Make dst a copy of a SEG-Y source with float samples and open it for writing new samples."""
    dst = Path(dst)
    if source.format in FLOAT_FORMATS:
        shutil.copyfile(source.path, dst)
    else:
        copy_as_ieee(source.path, dst, source.format, source.endian, source.data_offset, source.n_samples,
                     source.n_traces)
    out = source.open_copy(dst)
    if not out.layout_matches_segyio():
        out.close()
        raise SeisfuseError(f"{source.path}: trace layout not understood (extended headers?); cannot write a copy")
    return out


def open_volume(path: str | os.PathLike, header_bytes: HeaderBytes | str | None = None) -> GridVolume:
    """Open a SEG-Y file (or an MDIO dataset) read-only, with a one-line error for anything unusable."""
    from seisfuse.segy.mdio import MdioVolume, is_mdio

    if is_mdio(path):
        return MdioVolume(path)
    return Volume(path, header_bytes)


def check_same_geometry(reference: GridVolume, other: GridVolume) -> None:
    """Raise when two files do not hold the same traces on the same grid."""
    same = (reference.n_samples == other.n_samples and
            np.array_equal(reference.geometry.grid >= 0, other.geometry.grid >= 0) and
            np.array_equal(reference.geometry.ilines, other.geometry.ilines) and
            np.array_equal(reference.geometry.xlines, other.geometry.xlines))
    if not same:
        raise file_error(other.path, f"geometry differs from {reference.path} (line ranges, traces or samples)")
