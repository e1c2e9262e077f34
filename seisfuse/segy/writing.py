"""Writable copies of a SEG-Y file: every header byte of the source kept, new samples written section by section.

:func:`create_output` copies the source (integer formats converted to IEEE float, never
narrowed) and opens the copy as an :class:`OutputVolume`; :meth:`OutputVolume.reopen`
opens an output that another process created (ranks writing their own traces).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.segy.formats import FLOAT_FORMATS, FORMATS, IBM_FLOAT, IEEE_FLOAT, TEXT_HEADER_BYTES, TRACE_HEADER_BYTES
from seisfuse.segy.grid import GridVolume
from seisfuse.segy.mdio import MdioOutput, MdioVolume, create_mdio_output
from seisfuse.segy.volume import Volume


class OutputVolume(Volume):
    """A copy of a source volume, opened read-write, with the source's geometry."""

    mode = "r+"

    @classmethod
    def reopen(cls, path: str | os.PathLike, like: Volume) -> OutputVolume:
        """Open an output made by create_output from `like` (e.g. in another process)."""
        return cls(path, like.geometry.header_bytes, geometry=like.geometry)

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


def create_output(source: GridVolume, dst: str | os.PathLike) -> OutputVolume | MdioOutput:
    """Make dst a copy of source with float samples and open it for writing new samples (MDIO: a folder)."""
    if isinstance(source, MdioVolume):
        return create_mdio_output(source, dst)
    dst = Path(dst)
    if source.format in FLOAT_FORMATS:
        shutil.copyfile(source.path, dst)
    else:
        _copy_as_ieee(source, dst)
    out = OutputVolume.reopen(dst, source)
    if out.format != IBM_FLOAT:  # the numpy trace table must agree with segyio's reading of the file
        probe = [0, out.n_traces - 1]
        via_segyio = np.stack([np.asarray(out._handle.trace.raw[i], dtype=np.float32) for i in probe])
        if not np.array_equal(via_segyio, out.read_traces(np.array(probe)), equal_nan=True):
            raise SeisfuseError(f"{source.path}: trace layout not understood (extended headers?); cannot write a copy")
    return out


def reopen_output(path: str | os.PathLike, like: GridVolume) -> OutputVolume | MdioOutput:
    """Open an output that create_output made from `like` (in this or another process)."""
    return (MdioOutput if isinstance(like, MdioVolume) else OutputVolume).reopen(path, like)
