"""Trace geometry from header words: header byte locations, presets, the inline x crossline grid, gathers.

Post-stack files map onto an inline x crossline grid (a 2D line is one inline). Pre-stack
files of gathers map onto one section per value of a gather key (FFID, source point,
CDP, or `section_key`), traces in file order within it, padded with missing positions
to the longest gather. Notes about what was detected go to the "seisfuse" logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segyio

from seisfuse.errors import SeisfuseError, file_error

_VALID_BYTES = frozenset(int(v) for v in segyio.TraceField.enums())
log = logging.getLogger("seisfuse")
#: Trace-header words that usually key pre-stack gathers, in the order they are tried.
GATHER_KEYS = {9: "FFID", 17: "source point", 21: "CDP"}
OFFSET_BYTE = 37


@dataclass(frozen=True)
class HeaderBytes:
    """Trace-header byte locations of the inline and crossline keys (iline None: one 2D line)."""

    iline: int | None
    xline: int | None
    section: int | None = None  # one section per value of this word (gathers); iline / xline unused

    def __post_init__(self) -> None:
        if self.section is None and self.xline is None:
            raise SeisfuseError("a crossline (or 2D trace key) byte location is needed unless sections are keyed")
        for name, value in (("inline", self.iline), ("crossline", self.xline), ("section key", self.section)):
            if value is not None and int(value) not in _VALID_BYTES:
                raise SeisfuseError(
                    f"{name} byte location {value} is not the start of a SEG-Y trace header word "
                    f"(e.g. 189, 193, 5, 9, 17, 21)"
                )

    def describe(self) -> str:
        """Human-readable form, e.g. 'inline 189, crossline 193'."""
        if self.section is not None:
            return f"one section per value of byte {self.section} ({GATHER_KEYS.get(self.section, 'section key')})"
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
    preset: str | None = None, iline_byte: int | None = None, xline_byte: int | None = None,
    section_key: int | None = None,
) -> HeaderBytes | None:
    """Resolve a preset name and/or explicit byte locations (None: detect automatically)."""
    if section_key is not None:
        if preset is not None or iline_byte is not None or xline_byte is not None:
            raise SeisfuseError("a section key (gathers) excludes inline/crossline byte locations and presets")
        return HeaderBytes(None, None, section_key)
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
        """'gathers' for sections keyed by a header word, '2d' for a single line, '3d' otherwise."""
        if self.header_bytes is not None and self.header_bytes.section is not None:
            return "gathers"
        return "2d" if len(self.ilines) == 1 else "3d"

    @property
    def single_line(self) -> str | None:
        """'inline' or 'crossline' when a 3D-keyed file holds one line of a 3D survey, else None."""
        hb = self.header_bytes
        if hb is None or hb.iline is None or hb.section is not None:
            return None
        if len(self.ilines) == 1 and len(self.xlines) > 1:
            return "inline"
        if len(self.xlines) == 1 and len(self.ilines) > 1:
            return "crossline"
        return None

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


def file_order_geometry(n: int) -> Geometry:
    """A single line of all traces in file order, for files without usable header keys."""
    return Geometry(None, np.zeros(1, np.int64), np.arange(1, n + 1), np.arange(n, dtype=np.int64)[None, :])


#: Trace headers read to rule out header words before reading all of them (a huge file is judged in a blink).
SAMPLE_HEADERS = 2048


def _keys(f: segyio.SegyFile, byte: int | None, idx: np.ndarray | None = None) -> np.ndarray | None:
    """One header word of all traces (or of the traces idx), read in bulk."""
    if byte is None:
        return None
    values = f.attributes(byte)
    return np.asarray(values[:] if idx is None else values[idx.tolist()], dtype=np.int64)


def _header_sample(n: int) -> np.ndarray | None:
    """Evenly spread trace indices to try header words on, or None when reading them all is as cheap."""
    return None if n <= 4 * SAMPLE_HEADERS else np.unique(np.linspace(0, n - 1, SAMPLE_HEADERS).astype(np.int64))


def _could_be_grid(f: segyio.SegyFile, hb: HeaderBytes, sample: np.ndarray | None) -> bool:
    """False when the sampled traces already show that two header words cannot key a post-stack grid."""
    if sample is None:
        return True
    il, xl = _keys(f, hb.iline, sample), _keys(f, hb.xline, sample)
    il = np.zeros(len(xl), np.int64) if il is None else il
    pairs = il * (1 << 32) + xl
    return len(np.unique(pairs)) == len(pairs) and len(np.unique(pairs)) > 1


def _standard_words(f: segyio.SegyFile, sample: np.ndarray | None) -> str:
    """What is wrong with the standard inline/crossline words (189/193), in words."""
    hb = PRESETS["standard"]
    il, xl = _keys(f, hb.iline, sample), _keys(f, hb.xline, sample)
    if not np.any(il) and not np.any(xl):
        return f"inline/crossline at bytes {hb.iline}/{hb.xline} hold no values"
    return f"inline/crossline at bytes {hb.iline}/{hb.xline} repeat or do not form a grid"


def gather_geometry(keys: np.ndarray, header_bytes: HeaderBytes, contiguous: bool = False) -> Geometry | None:
    """One section per distinct key value, traces in file order; None if contiguous and the values do not come
    in runs (each value's traces together), or if there are fewer than two sections."""
    keys = np.asarray(keys, dtype=np.int64)
    values, first = np.unique(keys, return_index=True)
    if len(values) < 2:
        return None
    if contiguous:
        runs = 1 + int(np.count_nonzero(np.diff(keys)))
        if runs != len(values) or len(keys) / len(values) < 2:
            return None
    section = np.searchsorted(values, keys)
    counts = np.bincount(section, minlength=len(values))
    order = np.argsort(section, kind="stable")  # traces grouped by section, file order within
    position = np.arange(len(keys)) - np.repeat(np.cumsum(counts) - counts, counts)
    grid = np.full((len(values), int(counts.max())), -1, dtype=np.int64)
    grid[section[order], position] = order
    return Geometry(header_bytes, values, np.arange(1, grid.shape[1] + 1), grid)


def detect_geometry(f: segyio.SegyFile, path: Path, header_bytes: HeaderBytes | None) -> Geometry:
    """Geometry from the given byte locations, or from the first preset that yields one, or from gathers."""
    if header_bytes is not None and header_bytes.section is not None:
        geom = gather_geometry(_keys(f, header_bytes.section), header_bytes)
        if geom is None:
            raise file_error(path, f"header byte {header_bytes.section} has a single value: one section of all traces")
        return geom
    if header_bytes is not None:
        geom = geometry_from_keys(_keys(f, header_bytes.iline), _keys(f, header_bytes.xline), header_bytes)
        if geom is None:
            raise file_error(
                path,
                f"header bytes ({header_bytes.describe()}) give no post-stack geometry: keys are empty, "
                "repeated or do not form a grid; try --iline-byte/--xline-byte (e.g. 189/193, 5/21, or 9/21 for 2D), "
                "or --section-key for gathers",
            )
        return geom
    sample = _header_sample(f.tracecount)
    for name, preset in PRESETS.items():
        if not _could_be_grid(f, preset, sample):
            continue
        geom = geometry_from_keys(_keys(f, preset.iline), _keys(f, preset.xline), preset)
        if geom is not None:
            if name != "standard":
                log.warning("%s: %s; using %s (%s); set --iline-byte/--xline-byte if that is wrong", path,
                            _standard_words(f, sample), preset.describe(),
                            "a 2D line" if geom.kind == "2d" else f"{len(geom.ilines)} x {len(geom.xlines)} positions")
            return geom
    offsets = _keys(f, OFFSET_BYTE, sample)
    if len(np.unique(offsets)) > 1:  # several offsets and no post-stack grid: pre-stack gathers
        for byte, name in GATHER_KEYS.items():
            geom = gather_geometry(_keys(f, byte), HeaderBytes(None, None, byte), contiguous=True)
            if geom is not None:
                log.warning("%s: pre-stack gathers: one section per %s (byte %d), %d gathers of up to %d traces",
                            path, name, byte, len(geom.ilines), geom.grid.shape[1])
                return geom
        raise file_error(path, f"looks pre-stack (offsets at byte {OFFSET_BYTE} vary) but no usual gather key ("
                               + ", ".join(f"{b} {n}" for b, n in GATHER_KEYS.items())
                               + ") groups its traces; pass --section-key BYTE, or fusing would mix gathers")
    log.warning("%s: %s, and no other usual header words key a grid; treating the traces in file order as one line",
                path, _standard_words(f, sample))
    return file_order_geometry(f.tracecount)
