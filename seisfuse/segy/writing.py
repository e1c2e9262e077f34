"""Writable copies of a SEG-Y file: every header byte of the source kept, new samples written section by section.

:func:`create_output` copies the source (integer formats converted to IEEE float, never
narrowed) and opens the copy as an :class:`OutputVolume` (what `Volume.create_copy` returns;
`Volume.open_copy` opens one that another process created, for ranks writing their own traces).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.segy.formats import FLOAT_FORMATS, FORMATS, IBM_FLOAT, IEEE_FLOAT, TEXT_HEADER_BYTES, TRACE_HEADER_BYTES
from seisfuse.segy.grid import WritableVolume
from seisfuse.segy.volume import Volume


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


def create_output(source: Volume, dst: str | os.PathLike) -> OutputVolume:
    """Make dst a copy of a SEG-Y source with float samples and open it for writing new samples."""
    dst = Path(dst)
    if source.format in FLOAT_FORMATS:
        shutil.copyfile(source.path, dst)
    else:
        _copy_as_ieee(source, dst)
    out = source.open_copy(dst)
    if not out.layout_matches_segyio():
        out.close()
        raise SeisfuseError(f"{source.path}: trace layout not understood (extended headers?); cannot write a copy")
    return out


def write_resampled(source: Volume, dst: str | os.PathLike, data: np.ndarray, dt_ms: float) -> None:
    """Write traces (n_traces, new samples) as a copy of a SEG-Y source on another sample interval: every trace
    header kept but for its sample count and interval, IEEE float samples (the semi-real protocol's 2 ms lines)."""
    import segyio

    data = np.asarray(data, dtype=np.float32)
    if data.shape[0] != source.n_traces:
        raise ValueError(f"{data.shape[0]} traces for a file of {source.n_traces}")
    spec = segyio.spec()
    spec.format, spec.endian = IEEE_FLOAT, source.endian
    spec.samples = list(float(source.samples[0]) + dt_ms * np.arange(data.shape[1]))
    spec.tracecount = source.n_traces
    dt_us = int(round(dt_ms * 1000))
    with segyio.open(str(source.path), "r", ignore_geometry=True, endian=source.endian) as src, \
            segyio.create(os.fspath(dst), spec) as out:
        out.text[0] = src.text[0]
        out.bin = src.bin
        out.bin.update(hdt=dt_us, hns=data.shape[1], format=IEEE_FLOAT, exth=0)
        for i in range(source.n_traces):
            out.header[i] = src.header[i]
            out.header[i].update({segyio.TraceField.TRACE_SAMPLE_COUNT: data.shape[1],
                                  segyio.TraceField.TRACE_SAMPLE_INTERVAL: dt_us})
        out.trace = data
