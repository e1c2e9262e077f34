"""MDIO datasets (chunked Zarr, `pip install seisfuse[mdio]`) as volumes, and fused copies written as MDIO.

An MDIO v1 post-stack dataset (what `mdio.segy_to_mdio` writes with the PostStack3DTime /
PostStack3DDepth / PostStack2D* templates) holds ``amplitude`` on (inline, crossline,
time|depth) (2D: (cdp, time|depth)), a ``trace_mask`` of live positions, the coordinates
and the SEG-Y headers. Sections come straight from the chunked array, so a crossline or a
time slice costs what an inline costs (the chunks are bricks). A fused copy is the whole
dataset copied (headers, masks, coordinates kept) with new amplitudes, written under a
temporary folder name and renamed when complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from seisfuse.errors import SeisfuseError, file_error
from seisfuse.segy.geometry import Geometry, HeaderBytes
from seisfuse.segy.grid import GridVolume, WritableVolume

SUFFIX = ".mdio"
VERTICAL = {"time": ("twt", "ms"), "depth": ("depth", "m")}


def is_mdio(path: str | os.PathLike) -> bool:
    """True for an MDIO dataset path (a .mdio folder, or any folder holding a Zarr v3 group)."""
    p = Path(path)
    return p.suffix.lower() == SUFFIX or (p.is_dir() and (p / "zarr.json").exists())


def _zarr() -> Any:
    """zarr, installed with the mdio extra; a clear message without it."""
    try:
        import mdio  # noqa: F401 - the extra that brings zarr v3 and the MDIO conventions
        import zarr
    except ImportError:
        raise SeisfuseError("reading and writing MDIO needs the optional extra: pip install 'seisfuse[mdio]' "
                            "(MDIO's PyPI name is multidimio)") from None
    return zarr


class MdioVolume(GridVolume):
    """A post-stack MDIO dataset, read lazily through its chunked amplitude array."""

    mode = "r"
    is_folder = True
    suffixes = (SUFFIX,)

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise file_error(self.path, "no such file or folder")
        zarr = _zarr()
        try:
            group = zarr.open_group(str(self.path), mode="r")
        except Exception as exc:  # noqa: BLE001 - zarr reports a foreign folder in several ways
            raise file_error(self.path, f"not an MDIO dataset ({type(exc).__name__})") from None
        attrs = dict(group.attrs.get("attributes") or {})
        self.variable = attrs.get("defaultVariableName", "amplitude")
        if self.variable not in group or "trace_mask" not in group:
            raise file_error(self.path, f"not a post-stack MDIO dataset: no {self.variable!r} and trace_mask arrays")
        arr = group[self.variable]
        dims = list(arr.metadata.dimension_names or [])
        if len(dims) not in (2, 3) or dims[-1] not in VERTICAL:
            raise file_error(self.path, f"{self.variable} has dims {dims}; seisfuse reads post-stack MDIO "
                                        "(inline, crossline, time|depth) or (cdp, time|depth)")
        self.dims = dims
        self.samples = np.asarray(group[dims[-1]][:], dtype=np.float64)
        self.n_samples = len(self.samples)
        self.dt_ms = float(self.samples[1] - self.samples[0]) if self.n_samples > 1 else 4.0
        mask = np.asarray(group["trace_mask"][:], dtype=bool)
        if len(dims) == 2:  # a 2D line: one inline of cdps
            ilines, xlines, hb = np.zeros(1, np.int64), np.asarray(group[dims[0]][:]), HeaderBytes(None, 21)
            mask = mask[None]
        else:
            ilines, xlines = np.asarray(group[dims[0]][:]), np.asarray(group[dims[1]][:])
            hb = HeaderBytes(189, 193)
        grid = np.where(mask, np.arange(mask.size).reshape(mask.shape), -1)
        self.geometry = Geometry(hb, ilines.astype(np.int64), xlines.astype(np.int64), grid)
        self.n_traces = int(mask.size)
        self._arr: Any = None
        self._pid = -1

    # -- the chunked array, opened once per process (volumes are pickled to DataLoader workers)
    def _array(self) -> Any:
        if self._arr is None or self._pid != os.getpid():
            self._arr = _zarr().open_group(str(self.path), mode="r+" if self.mode == "r+" else "r")[self.variable]
            self._pid = os.getpid()
        return self._arr

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arr": None, "_pid": -1}

    def close(self) -> None:
        self._arr = None

    def __repr__(self) -> str:
        g = self.geometry
        return f"MdioVolume({self.path.name!r}, {g.kind}, {len(g.ilines)}x{len(g.xlines)} positions, {self.n_samples} samples)"

    @property
    def text_header(self) -> str:
        """MDIO keeps no SEG-Y text header in the dataset: its dims and template instead."""
        return f"MDIO dataset {self.path.name}: {self.variable}{tuple(self.dims)}"

    @property
    def vertical(self) -> tuple[str, str]:
        """('twt', 'ms') or ('depth', 'm') from the sample dimension's name."""
        return VERTICAL[self.dims[-1]]

    def storage_facts(self) -> dict[str, Any]:
        """The Zarr array's dtype and chunk shape."""
        arr = self._array()
        return {"format": f"MDIO (Zarr v3), {arr.dtype} samples", "chunks": list(arr.chunks),
                "dims": list(self.dims)}

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """cdp_x, cdp_y on the grid from the dataset's coordinate arrays (NaN where absent or no trace)."""
        group = _zarr().open_group(str(self.path), mode="r")
        shape = self.geometry.grid.shape
        out = []
        for name in ("cdp_x", "cdp_y"):
            values = np.full(shape, np.nan)
            if name in group:
                v = np.asarray(group[name][:], dtype=np.float64)
                values = v.reshape(shape) if v.size == values.size else values
            values[self.geometry.grid < 0] = np.nan
            out.append(values)
        return out[0], out[1]

    def create_copy(self, dst: str | os.PathLike) -> MdioOutput:
        """Make dst (a new or empty folder) a copy of the dataset and open it for writing new amplitudes."""
        shutil.copytree(self.path, dst, dirs_exist_ok=True)
        return MdioOutput(dst)

    def open_copy(self, path: str | os.PathLike) -> MdioOutput:
        """Open a copy made by create_copy (e.g. in another process)."""
        return MdioOutput(path)

    def _block(self, rows: slice | int, cols: slice | int) -> np.ndarray:
        """amplitude[rows, cols, :] on the grid (2D datasets have one row)."""
        arr = self._array()
        if len(self.dims) == 2:
            return np.asarray(arr[cols, :], dtype=np.float32)
        return np.asarray(arr[rows, cols, :], dtype=np.float32)

    def read_traces(self, idx: np.ndarray) -> np.ndarray:
        """Traces by grid position (inline-major), read per inline run."""
        idx = np.asarray(idx, dtype=np.int64)
        out = np.empty((len(idx), self.n_samples), dtype=np.float32)
        n_xl = self.geometry.grid.shape[1]
        rows, cols = np.divmod(idx, n_xl)
        for r in np.unique(rows):
            hit = rows == r
            lo, hi = int(cols[hit].min()), int(cols[hit].max()) + 1
            out[hit] = self._block(int(r), slice(lo, hi))[cols[hit] - lo]
        return out

    def section(self, axis: str, index: int) -> np.ndarray:
        """One whole section (samples, traces) straight from the chunks; missing positions are zero."""
        pos = self.section_positions(axis, index)
        block = self._block(index, slice(None)) if axis == "inline" else self._block(slice(None), index)
        block[pos < 0] = 0.0
        return np.ascontiguousarray(block.T)

    def section_chunk(self, axis: str) -> int:
        """Sections per chunk along axis: a pass reads and writes whole chunks, never one chunk per section."""
        return 1 if len(self.dims) == 2 else int(self._array().chunks[0 if axis == "inline" else 1])

    def strided(self, axis: str) -> bool:
        """True when a chunk holds several sections along axis: sections are best read a chunk row at a time."""
        return self.section_chunk(axis) > 1

    def block_size(self, axis: str, max_bytes: int) -> int:
        """Sections per block: whole chunk rows (at least one), so each chunk is decompressed once per pass."""
        c = self.section_chunk(axis)
        return max(c, super().block_size(axis, max_bytes) // c * c)

    def section_block(self, axis: str, indices: list[int]) -> np.ndarray:
        """Several sections (len(indices), samples, traces) from one slab of chunks; missing positions are zero."""
        ks = np.asarray(indices, dtype=np.int64)
        lo, hi = int(ks.min()), int(ks.max()) + 1
        if axis == "inline":
            slab, dead = self._block(slice(lo, hi), slice(None)), self.geometry.grid[lo:hi] < 0
        else:
            slab, dead = self._block(slice(None), slice(lo, hi)).transpose(1, 0, 2), (self.geometry.grid[:, lo:hi] < 0).T
        sections, dead = slab[ks - lo], dead[ks - lo]  # (sections, traces, samples)
        sections[dead] = 0.0
        return np.ascontiguousarray(sections.transpose(0, 2, 1))

    def time_slice(self, sample: int) -> np.ndarray:
        """One sample of every position, (inlines, crosslines)."""
        if not 0 <= sample < self.n_samples:
            raise file_error(self.path, f"time slice sample {sample} out of range 0..{self.n_samples - 1}")
        arr = self._array()
        values = np.asarray(arr[:, sample] if len(self.dims) == 2 else arr[:, :, sample], dtype=np.float32)
        out = values.reshape(self.geometry.grid.shape)
        out[self.geometry.grid < 0] = 0.0
        return out


class MdioOutput(MdioVolume, WritableVolume):
    """A copy of an MDIO dataset opened for writing new amplitudes, section by section."""

    mode = "r+"

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(path)
        self._pending: dict[tuple[str, int], dict[int, np.ndarray]] = {}  # (axis, chunk row) -> sections

    def write_traces(self, idx: np.ndarray, data: np.ndarray) -> None:
        """Write traces by grid position (inline-major), one slab per inline run."""
        idx = np.asarray(idx, dtype=np.int64)
        values = np.asarray(data, dtype=np.float32)
        self.flush()
        arr = self._array()
        if len(self.dims) == 2:
            arr[idx, :] = values
            return
        rows, cols = np.divmod(idx, self.geometry.grid.shape[1])
        for r in np.unique(rows):
            hit = rows == r
            lo, hi = int(cols[hit].min()), int(cols[hit].max()) + 1
            block = np.asarray(arr[int(r), lo:hi, :], dtype=np.float32)
            block[cols[hit] - lo] = values[hit]
            arr[int(r), lo:hi, :] = block

    def write_section(self, axis: str, index: int, data: np.ndarray) -> None:
        """Write one section (samples, traces); held until its chunk row is complete, then written as one slab."""
        if data.shape != (self.n_samples, self.section_width(axis)):
            raise ValueError(f"section shape {data.shape} != {(self.n_samples, self.section_width(axis))}")
        values = np.ascontiguousarray(data.T, dtype=np.float32)  # (traces, samples)
        if len(self.dims) == 2:
            self._array()[:, :] = values
            return
        c = self.section_chunk(axis)
        row = self._pending.setdefault((axis, index // c), {})
        row[index] = values
        if len(row) == min(c, self.n_sections(axis) - index // c * c):
            self._write_rows(axis, self._pending.pop((axis, index // c)))

    def _write_rows(self, axis: str, sections: dict[int, np.ndarray]) -> None:
        """Write held sections, each contiguous run as one slab."""
        arr, ks = self._array(), sorted(sections)
        starts = [i for i, k in enumerate(ks) if i == 0 or k != ks[i - 1] + 1] + [len(ks)]
        for a, b in zip(starts[:-1], starts[1:], strict=True):
            slab = np.stack([sections[k] for k in ks[a:b]])  # (run, traces, samples)
            if axis == "inline":
                arr[ks[a]:ks[b - 1] + 1, :, :] = slab
            else:
                arr[:, ks[a]:ks[b - 1] + 1, :] = slab.transpose(1, 0, 2)

    def section(self, axis: str, index: int) -> np.ndarray:
        """One section as written so far: held sections that cross it are written out first (none do in the
        second pass of `both`, which reads crossline k before writing it, so its chunk rows stay held)."""
        if any(a != axis or index in rows for (a, _), rows in self._pending.items()):
            self.flush()
        return super().section(axis, index)

    def flush(self) -> None:
        """Write every held section (a partial chunk row: this rank's share, or the end of a pass)."""
        for (axis, _), sections in list(self._pending.items()):
            self._write_rows(axis, sections)
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        super().close()

