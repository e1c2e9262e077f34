"""New SEG-Y files: a synthetic survey on a regular grid, and a copy of a file on another sample interval.

The one place besides `volume.py` where segyio creates files (copies of existing files, with
every header kept, are `volume.create_output`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import segyio

from seisfuse.files import atomic_output
from seisfuse.segy.formats import IEEE_FLOAT
from seisfuse.segy.volume import Volume


def write_grid_file(path: str | os.PathLike, data: np.ndarray, dt_ms: float, text: Mapping[int, str],
                    first_inline: int = 1, first_crossline: int = 1, bin_m: float = 25.0, origin: tuple[float, float] = (0, 0),
                    fmt: int = IEEE_FLOAT, endian: str = "big") -> None:
    """Write an (inlines, crosslines, samples) array as an inline-sorted 3D SEG-Y with standard headers (inline and
    crossline at 189 / 193, CDP x / y at 181 / 185 on a regular bin grid, a text header of numbered lines),
    atomically."""
    ni, nx, nz = data.shape
    spec = segyio.spec()
    spec.ilines = list(range(first_inline, first_inline + ni))
    spec.xlines = list(range(first_crossline, first_crossline + nx))
    spec.samples = list(np.arange(nz) * dt_ms)
    spec.format = fmt
    spec.sorting = segyio.TraceSortingFormat.INLINE_SORTING
    spec.endian = endian
    dt_us = int(round(dt_ms * 1000))
    with atomic_output(path) as tmp, segyio.create(os.fspath(tmp), spec) as f:
        f.text[0] = segyio.tools.create_text_header(dict(text))
        f.bin.update(hdt=dt_us, hns=nz, mfeet=1, tsort=segyio.TraceSortingFormat.INLINE_SORTING)
        tr = 0
        for i in range(ni):
            for j in range(nx):
                f.header[tr] = {
                    segyio.TraceField.TRACE_SEQUENCE_LINE: tr + 1,
                    segyio.TraceField.FieldRecord: first_inline + i,
                    segyio.TraceField.CDP: tr + 1,
                    segyio.TraceField.TRACE_SAMPLE_COUNT: nz,
                    segyio.TraceField.TRACE_SAMPLE_INTERVAL: dt_us,
                    segyio.TraceField.SourceGroupScalar: 1,
                    segyio.TraceField.CDP_X: int(origin[0] + bin_m * j),
                    segyio.TraceField.CDP_Y: int(origin[1] + bin_m * i),
                    segyio.TraceField.INLINE_3D: first_inline + i,
                    segyio.TraceField.CROSSLINE_3D: first_crossline + j,
                }
                tr += 1
            f.trace[i * nx: (i + 1) * nx] = np.ascontiguousarray(data[i], dtype=np.float32)


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
