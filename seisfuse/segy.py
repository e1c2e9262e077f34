"""SEG-Y volumes on segyio: geometry from trace headers, section reads, and writable copies.

A :class:`Volume` is a lazy view of a post-stack SEG-Y file. Its geometry is built
from two trace-header words (inline and crossline keys), so inline-sorted,
crossline-sorted, irregular (missing traces) and 2D files all look the same: a grid
of trace indices, ``-1`` where no trace exists. Sections are float32 arrays of shape
``(samples, traces)``; a 2D line is exposed as the single section of axis ``inline``.

Reading uses segyio's C line reads (memory-mapped) where positions are regular.
Writing never touches the source: :func:`create_output` copies it (integer formats are
converted to IEEE float, never narrowed), and the copy is opened ``r+`` so new samples
can be written section by section with every header byte kept.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segyio

from seisfuse.errors import SeisfuseError, file_error

AXES = ("inline", "crossline")

#: sample format code -> (name, numpy dtype without byte order, bytes per sample)
FORMATS: dict[int, tuple[str, str, int]] = {
    1: ("4-byte IBM float", "f4", 4),
    2: ("4-byte signed integer", "i4", 4),
    3: ("2-byte signed integer", "i2", 2),
    5: ("4-byte IEEE float", "f4", 4),
    6: ("8-byte IEEE float", "f8", 8),
    8: ("1-byte signed integer", "i1", 1),
    9: ("8-byte signed integer", "i8", 8),
    10: ("4-byte unsigned integer", "u4", 4),
    11: ("2-byte unsigned integer", "u2", 2),
    12: ("8-byte unsigned integer", "u8", 8),
    16: ("1-byte unsigned integer", "u1", 1),
}
UNSUPPORTED_FORMATS = {4: "4-byte fixed point with gain", 7: "3-byte signed integer", 15: "3-byte unsigned integer"}
FLOAT_FORMATS = {1, 5, 6}
IEEE_FLOAT = 5

TEXT_HEADER_BYTES = 3200
BINARY_HEADER_BYTES = 400
TRACE_HEADER_BYTES = 240
FILE_HEADER_BYTES = TEXT_HEADER_BYTES + BINARY_HEADER_BYTES

_VALID_BYTES = frozenset(int(v) for v in segyio.TraceField.enums())


@dataclass(frozen=True)
class HeaderBytes:
    """Trace-header byte locations of the inline and crossline keys (iline None: one 2D line)."""

    iline: int | None
    xline: int

    def __post_init__(self) -> None:
        for name, value in (("inline", self.iline), ("crossline", self.xline)):
            if value is not None and int(value) not in _VALID_BYTES:
                raise SeisfuseError(
                    f"{name} byte location {value} is not the start of a SEG-Y trace header word "
                    f"(e.g. 189, 193, 5, 9, 17, 21)"
                )

    def describe(self) -> str:
        """Human-readable form, e.g. 'inline 189, crossline 193'."""
        if self.iline is None:
            return f"2D line, trace key at {self.xline}"
        return f"inline {self.iline}, crossline {self.xline}"


#: Named presets of header byte locations.
PRESETS: dict[str, HeaderBytes] = {
    "standard": HeaderBytes(189, 193),
    "petrel": HeaderBytes(5, 21),
    "2d-cdp": HeaderBytes(None, 21),
}
#: Minimum fraction of grid cells holding a trace for a header pair to count as a 3D geometry.
MIN_GRID_DENSITY = 0.1


def header_bytes_from(
    preset: str | None = None, iline_byte: int | None = None, xline_byte: int | None = None
) -> HeaderBytes | None:
    """Resolve a preset name and/or explicit byte locations (None: detect automatically)."""
    if preset is None and iline_byte is None and xline_byte is None:
        return None
    base = PRESETS["standard"]
    if preset is not None:
        if preset not in PRESETS:
            raise SeisfuseError(f"unknown header preset {preset!r}; valid presets: {', '.join(PRESETS)}")
        base = PRESETS[preset]
    return HeaderBytes(
        iline=iline_byte if iline_byte is not None else base.iline,
        xline=xline_byte if xline_byte is not None else base.xline,
    )


@dataclass
class Geometry:
    """Positions of the traces of a file on an inline x crossline grid."""

    header_bytes: HeaderBytes | None  # None: no usable headers, traces in file order
    ilines: np.ndarray  # sorted unique inline keys (one 0 for a 2D line)
    xlines: np.ndarray  # sorted unique crossline / CDP keys
    grid: np.ndarray  # (n_il, n_xl) trace index, -1 where no trace exists
    sorting: str = field(init=False)

    def __post_init__(self) -> None:
        self.sorting = _sorting(self.grid)

    @property
    def kind(self) -> str:
        """'2d' for a single line, '3d' otherwise."""
        return "2d" if len(self.ilines) == 1 else "3d"

    @property
    def n_live(self) -> int:
        """Number of grid positions that hold a trace."""
        return int((self.grid >= 0).sum())

    @property
    def n_missing(self) -> int:
        """Grid positions without a trace (irregular surveys)."""
        return int(self.grid.size - self.n_live)

    @property
    def regular(self) -> bool:
        """True when every grid position holds a trace."""
        return self.n_missing == 0


def _sorting(grid: np.ndarray) -> str:
    """'inline' when traces run along crosslines within each inline, 'crossline' for the transpose."""
    if grid.shape[0] == 1:
        return "inline" if np.all(np.diff(grid[grid >= 0]) > 0) else "unsorted"
    by_inline = grid[grid >= 0]
    if np.all(np.diff(by_inline) > 0):
        return "inline"
    by_crossline = grid.T[grid.T >= 0]
    if np.all(np.diff(by_crossline) > 0):
        return "crossline"
    return "unsorted"


def geometry_from_keys(il: np.ndarray | None, xl: np.ndarray, header_bytes: HeaderBytes | None) -> Geometry | None:
    """Build the trace grid from per-trace keys; None if the keys do not define a post-stack geometry."""
    n = len(xl)
    il = np.zeros(n, dtype=np.int64) if il is None else np.asarray(il, dtype=np.int64)
    xl = np.asarray(xl, dtype=np.int64)
    if n == 0 or (np.all(il == il[0]) and np.all(xl == xl[0])):
        return None
    ilines, il_pos = np.unique(il, return_inverse=True)
    xlines, xl_pos = np.unique(xl, return_inverse=True)
    flat = il_pos.astype(np.int64) * len(xlines) + xl_pos
    if len(np.unique(flat)) != n:
        return None  # two traces at the same position: pre-stack or wrong byte locations
    if len(ilines) > 1 and len(xlines) > 1 and n / (len(ilines) * len(xlines)) < MIN_GRID_DENSITY:
        return None  # e.g. two counters that both run along the traces: a diagonal, not a survey
    grid = np.full(len(ilines) * len(xlines), -1, dtype=np.int64)
    grid[flat] = np.arange(n)
    return Geometry(header_bytes, ilines, xlines, grid.reshape(len(ilines), len(xlines)))


def _file_order_geometry(n: int) -> Geometry:
    """A single line of all traces in file order, for files without usable header keys."""
    return Geometry(None, np.zeros(1, np.int64), np.arange(1, n + 1), np.arange(n, dtype=np.int64)[None, :])


@dataclass(frozen=True)
class FileHeader:
    """What the 3600-byte file header says about the layout of the traces."""

    endian: str
    format: int
    n_samples: int
    ext_headers: int


def read_file_header(path: Path) -> FileHeader:
    """Check that path looks like SEG-Y and detect its byte order and sample format."""
    if not path.exists():
        raise file_error(path, "no such file")
    if path.is_dir():
        raise file_error(path, "is a directory, not a SEG-Y file")
    size = path.stat().st_size
    if size < FILE_HEADER_BYTES:
        raise file_error(path, f"not a SEG-Y file: {size} bytes, smaller than the {FILE_HEADER_BYTES}-byte file header")
    with open(path, "rb") as fh:
        head = fh.read(FILE_HEADER_BYTES)
    binary = head[TEXT_HEADER_BYTES:]
    known = set(FORMATS) | set(UNSUPPORTED_FORMATS)
    for endian in ("big", "little"):
        fmt = int.from_bytes(binary[24:26], endian, signed=False)
        if fmt in known:
            break
    else:
        fmt_be = int.from_bytes(binary[24:26], "big")
        raise file_error(path, f"not a SEG-Y file: binary header sample format code {fmt_be} is not a SEG-Y format")
    if fmt in UNSUPPORTED_FORMATS:
        raise file_error(path, f"sample format {fmt} ({UNSUPPORTED_FORMATS[fmt]}) is not supported; convert the file to IEEE or IBM float")
    n_samples = int.from_bytes(binary[20:22], endian)
    ext = int.from_bytes(binary[104:106], endian, signed=True)
    ext = max(ext, 0)
    if size <= FILE_HEADER_BYTES + ext * TEXT_HEADER_BYTES:
        raise file_error(path, "SEG-Y file contains no traces")
    return FileHeader(endian, fmt, n_samples, ext)


def decode_text_header(raw: bytes) -> str:
    """Decode a textual header as ASCII or EBCDIC (cp500), whichever reads as more plain text."""
    def plain(t: str) -> int:
        return sum(c.isascii() and (c.isalnum() or c == " ") for c in t)

    text = max(raw.decode("latin-1"), raw.decode("cp500"), key=plain)
    return "".join(c if c.isprintable() else " " for c in text)


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


def _keys(f: segyio.SegyFile, byte: int | None) -> np.ndarray | None:
    """All traces' values of one header word, read in bulk."""
    return None if byte is None else np.asarray(f.attributes(byte)[:], dtype=np.int64)


def detect_geometry(f: segyio.SegyFile, path: Path, header_bytes: HeaderBytes | None) -> Geometry:
    """Geometry from the given byte locations, or from the first preset that yields one."""
    if header_bytes is not None:
        geom = geometry_from_keys(_keys(f, header_bytes.iline), _keys(f, header_bytes.xline), header_bytes)
        if geom is None:
            raise file_error(
                path,
                f"header bytes ({header_bytes.describe()}) give no post-stack geometry: keys are empty, "
                "repeated or do not form a grid; try --iline-byte/--xline-byte (e.g. 189/193, 5/21, or 9/21 for 2D)",
            )
        return geom
    for preset in PRESETS.values():
        geom = geometry_from_keys(_keys(f, preset.iline), _keys(f, preset.xline), preset)
        if geom is not None:
            return geom
    warnings.warn(f"{path}: no usable inline/crossline header words; treating traces in file order as one line", stacklevel=2)
    return _file_order_geometry(f.tracecount)


class Volume:
    """A lazy, memory-mapped post-stack SEG-Y file with its trace geometry."""

    def __init__(self, path: str | os.PathLike, header_bytes: HeaderBytes | str | None = None, *, _mode: str = "r",
                 _geometry: Geometry | None = None) -> None:
        self.path = Path(path)
        if isinstance(header_bytes, str):
            header_bytes = header_bytes_from(preset=header_bytes)
        self._mode = _mode
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
        self.geometry = _geometry if _geometry is not None else detect_geometry(f, self.path, header_bytes)
        self._check_layout()

    # -- file handles: opened lazily, once per process, so a Volume can be pickled to workers
    @property
    def _handle(self) -> segyio.SegyFile:
        if self._f is None or self._pid != os.getpid():
            self._f = _open_segyio(self.path, self.endian, "r+" if self._mode == "r+" else "r")
            self._mm = None
            if self._mode == "r":
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

    def __enter__(self) -> Volume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        g = self.geometry
        return (f"Volume({self.path.name!r}, {g.kind}, {len(g.ilines)}x{len(g.xlines)} positions, "
                f"{self.n_samples} samples, format {self.format})")

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
    def axes(self) -> tuple[str, ...]:
        """Section axes this file has: both for 3D, only 'inline' for a 2D line."""
        return ("inline",) if self.geometry.kind == "2d" else AXES

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

    # -- reading
    def read_traces(self, idx: np.ndarray) -> np.ndarray:
        """Samples of the given trace indices (all >= 0) as float32 (len(idx), samples)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._mode == "r+" and self.format != 1:
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

    def time_slice(self, sample: int) -> np.ndarray:
        """One sample of every trace on the grid, float32 (inlines, crosslines)."""
        if not 0 <= sample < self.n_samples:
            raise file_error(self.path, f"time slice sample {sample} out of range 0..{self.n_samples - 1}")
        values = np.asarray(self._handle.depth_slice[sample], dtype=np.float32).reshape(-1)
        grid = self.geometry.grid
        out = np.zeros(grid.shape, dtype=np.float32)
        out[grid >= 0] = values[grid[grid >= 0]]
        return out

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
            block = self.read_traces(np.arange(a, min(a + chunk, self.n_traces)))
            bad = ~np.isfinite(block)
            nonfinite += int(bad.sum())
            nz = (block != 0) & ~bad
            live = nz.any(axis=1)
            f = np.argmax(nz, axis=1)
            lst = self.n_samples - 1 - np.argmax(nz[:, ::-1], axis=1)
            first[a: a + len(block)] = np.where(live, f, -1)
            last[a: a + len(block)] = np.where(live, lst, -1)
        return first, last, nonfinite

    # -- writing (only on volumes made by create_output)
    def _memmap(self) -> np.memmap:
        """The trace table as a structured numpy memmap (header bytes, samples)."""
        if self._mm is None or self._pid != os.getpid():
            self._handle  # noqa: B018 - make sure the process-local state is current
            order = ">" if self.endian == "big" else "<"
            dtype = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", order + FORMATS[self.format][1], (self.n_samples,))])
            self._mm = np.memmap(self.path, dtype=dtype, mode="r+", offset=self.data_offset, shape=(self.n_traces,))
        return self._mm

    def write_traces(self, idx: np.ndarray, data: np.ndarray) -> None:
        """Overwrite the samples of the given traces with data (len(idx), samples)."""
        if self._mode != "r+":
            raise SeisfuseError(f"{self.path}: opened read-only; outputs are written through create_output")
        idx = np.asarray(idx, dtype=np.int64)
        data = np.asarray(data, dtype=np.float32)
        if self.format == 1:  # IBM float: segyio encodes
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
        if self._f is not None and self._mode == "r+" and self.format == 1:
            self._f.flush()


def open_volume(path: str | os.PathLike, header_bytes: HeaderBytes | str | None = None) -> Volume:
    """Open a SEG-Y file read-only, with a one-line error for anything that is not usable post-stack SEG-Y."""
    return Volume(path, header_bytes)


def _copy_as_ieee(src: Volume, dst: Path, chunk: int = 8192) -> None:
    """Write a copy of an integer-format file with IEEE float samples and format code 5; headers kept."""
    e = ">" if src.endian == "big" else "<"
    with open(src.path, "rb") as fh:
        head = bytearray(fh.read(src.data_offset))
    head[TEXT_HEADER_BYTES + 24: TEXT_HEADER_BYTES + 26] = IEEE_FLOAT.to_bytes(2, src.endian)
    src_dt = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", e + FORMATS[src.format][1], (src.n_samples,))])
    dst_dt = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", e + "f4", (src.n_samples,))])
    src_mm = np.memmap(src.path, dtype=src_dt, mode="r", offset=src.data_offset, shape=(src.n_traces,))
    with open(dst, "wb") as out:
        out.write(head)
        for a in range(0, src.n_traces, chunk):
            block = src_mm[a: a + chunk]
            conv = np.empty(len(block), dtype=dst_dt)
            conv["h"] = block["h"]
            conv["d"] = block["d"]
            out.write(conv.tobytes())
    del src_mm


def create_output(source: Volume, dst: str | os.PathLike) -> Volume:
    """Make dst a copy of source with float samples and open it for writing new samples."""
    dst = Path(dst)
    if source.format in FLOAT_FORMATS:
        shutil.copyfile(source.path, dst)
    else:
        _copy_as_ieee(source, dst)
    out = Volume(dst, source.geometry.header_bytes, _mode="r+", _geometry=source.geometry)
    if out.format != 1:  # the numpy trace table must agree with segyio's reading of the file
        probe = [0, out.n_traces - 1]
        via_segyio = np.stack([np.asarray(out._handle.trace.raw[i], dtype=np.float32) for i in probe])
        if not np.array_equal(via_segyio, out.read_traces(np.array(probe)), equal_nan=True):
            raise SeisfuseError(f"{source.path}: trace layout not understood (extended headers?); cannot write a copy")
    return out


def check_same_geometry(reference: Volume, other: Volume) -> None:
    """Raise when two files do not hold the same traces on the same grid."""
    same = (reference.n_samples == other.n_samples and
            np.array_equal(reference.geometry.grid >= 0, other.geometry.grid >= 0) and
            np.array_equal(reference.geometry.ilines, other.geometry.ilines) and
            np.array_equal(reference.geometry.xlines, other.geometry.xlines))
    if not same:
        raise file_error(other.path, f"geometry differs from {reference.path} (line ranges, traces or samples)")


def describe(volume: Volume, scan: bool = True) -> dict:
    """Facts about a file for `seisfuse info`: format, geometry, ranges, dead traces, text header."""
    g = volume.geometry
    info: dict = {
        "file": str(volume.path),
        "size_bytes": volume.path.stat().st_size,
        "format": f"{volume.format} ({FORMATS[volume.format][0]})",
        "endian": volume.endian,
        "kind": "2D line" if g.kind == "2d" else "3D",
        "geometry": "unstructured (traces in file order)" if g.header_bytes is None else g.header_bytes.describe(),
        "sorting": g.sorting,
        "traces": volume.n_traces,
        "samples": volume.n_samples,
        "sample_interval_ms": volume.dt_ms,
        "time_range_ms": [float(volume.samples[0]), float(volume.samples[-1])],
    }
    if g.kind == "3d":
        info["inlines"] = [int(g.ilines.min()), int(g.ilines.max()), len(g.ilines)]
        info["crosslines"] = [int(g.xlines.min()), int(g.xlines.max()), len(g.xlines)]
        info["missing_traces"] = g.n_missing
    else:
        info["traces_keys"] = [int(g.xlines.min()), int(g.xlines.max()), len(g.xlines)]
    if scan:
        first, _, nonfinite = volume.scan_live()
        info["dead_traces"] = int((first < 0).sum())
        info["nonfinite_samples"] = nonfinite
    info["text_header"] = volume.text_header
    return info
