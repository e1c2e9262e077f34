"""A Volume as a lazy xarray Dataset, in segysak's conventions, and numpy/xarray volumes written back like a source.

Dims are ``iline, xline, twt`` (or ``depth``) for 3D surveys, ``cdp, twt`` for a 2D line,
``gather, trace, twt`` for gathers; the amplitudes are the data variable ``data``; ``cdp_x``
and ``cdp_y`` (trace headers 181 / 185 with the scalar at 71) are coordinates; the text
header is in ``attrs``. Samples are read only when indexed (an xarray backend array over
the memory-mapped Volume), so opening a large survey reads its headers and nothing else.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from seisfuse.errors import file_error
from seisfuse.segy.geometry import HeaderBytes
from seisfuse.segy.grid import GridVolume
from seisfuse.segy.output import OutputFile
from seisfuse.segy.volume import open_volume

SOURCE_ATTR = "seisfuse_source"
VERTICAL_DIMS = ("twt", "depth", "time", "samples")  # names a sample dimension may have


class _VolumeArray(BackendArray):
    """(sections, traces, samples) samples of a Volume's grid, read on indexing (missing traces are zero)."""

    def __init__(self, volume: GridVolume) -> None:
        self.volume = volume
        grid = volume.geometry.grid
        self.shape = (*grid.shape, volume.n_samples)
        self.dtype = np.dtype(np.float32)
        self.lock = threading.Lock()

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._read)

    def _read(self, key: tuple) -> np.ndarray:
        """Basic indexing (ints and slices per dim): read only the traces the key selects."""
        k0, k1, k2 = key
        rows = np.atleast_1d(np.arange(self.shape[0])[k0])
        cols = np.atleast_1d(np.arange(self.shape[1])[k1])
        traces = self.volume.geometry.grid[np.ix_(rows, cols)].reshape(-1)
        out = np.zeros((traces.size, self.volume.n_samples), dtype=np.float32)
        live = traces >= 0
        with self.lock:
            out[live] = self.volume.read_traces(traces[live])
        out = out.reshape(len(rows), len(cols), self.volume.n_samples)[..., k2]
        return out[0 if isinstance(k0, int | np.integer) else slice(None), 0 if isinstance(k1, int | np.integer) else slice(None)]


def volume_dataset(volume: GridVolume) -> xr.Dataset:
    """The Volume as a lazy Dataset (segysak conventions)."""
    g = volume.geometry
    vert, unit = volume.vertical
    if g.kind == "gathers":
        dims = ("gather", "trace")
    elif g.kind == "2d":
        dims = ("iline", "cdp")
    else:
        dims = ("iline", "xline")
    data = indexing.LazilyIndexedArray(_VolumeArray(volume))
    var = xr.Variable((*dims, vert), data, attrs={"units": "amplitude", SOURCE_ATTR: str(volume.path)})
    cx, cy = volume.coordinates()
    coords: dict[str, Any] = {dims[0]: g.ilines, dims[1]: g.xlines,
                              vert: xr.Variable(vert, volume.samples, attrs={"units": unit}),
                              "cdp_x": (dims, cx), "cdp_y": (dims, cy)}
    ds = xr.Dataset({"data": var}, coords=coords,
                    attrs={"text": volume.text_header, "sample_rate": volume.dt_ms, "measurement_system": unit,
                           "sample_format": volume.storage_facts()["format"], SOURCE_ATTR: str(volume.path)})
    if g.kind == "2d":  # a 2D line: one line, dims (cdp, twt) as segysak names them
        ds = ds.isel(iline=0, drop=True)
    return ds


def open_dataset(path: str | os.PathLike, header_bytes: HeaderBytes | str | None = None) -> xr.Dataset:
    """Open a SEG-Y file (or an MDIO dataset) as a lazy xarray Dataset; closing the Dataset closes the file."""
    volume = open_volume(path, header_bytes)
    ds = volume_dataset(volume)
    ds.set_close(volume.close)
    return ds


class SeisfuseBackendEntrypoint(BackendEntrypoint):
    """xarray's `engine="seisfuse"`: `xr.open_dataset("survey.sgy", engine="seisfuse")` opens SEG-Y (and MDIO) lazily,
    as `seisfuse.open_segy` does (registered in pyproject.toml under the entry points `xarray.backends`)."""

    description = "Open SEG-Y files (and MDIO datasets) lazily with seisfuse's geometry detection"
    url = "https://github.com/seisfuse/seisfuse"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "iline", "xline", "header_preset", "section_key")

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Any = None, iline: int | None = None,
                     xline: int | None = None, header_preset: str | None = None,
                     section_key: int | None = None) -> xr.Dataset:
        from seisfuse.segy.geometry import header_bytes_from

        ds = open_dataset(filename_or_obj, header_bytes_from(header_preset, iline, xline, section_key))
        return ds.drop_vars(drop_variables) if drop_variables else ds

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        try:
            return Path(filename_or_obj).suffix.lower() in (".sgy", ".segy")
        except TypeError:
            return False


def write_like(source: str | os.PathLike, out: str | os.PathLike, data: Any,
               header_bytes: HeaderBytes | str | None = None, force: bool = False) -> Path:
    """Write a volume (numpy or DataArray, the source's grid order) as a copy of source: every header kept."""
    from seisfuse.files import check_output

    check_output(out, [source], force=force)
    with open_volume(source, header_bytes) as src:
        grid = src.geometry.grid
        values = data.transpose(*_dims_of(src, data)).values if isinstance(data, xr.DataArray) else np.asarray(data)
        if src.geometry.kind == "2d" and values.ndim == 2:
            values = values[None]
        want = (*grid.shape, src.n_samples)
        if values.shape != want:
            raise file_error(out, f"data of shape {values.shape} does not fit {source}: expected {want} "
                                  "(sections, traces, samples)")
        output = OutputFile.create(src, out)
        try:
            output.volume.write_grid(values)
            output.finish()
        except BaseException:
            output.abandon()
            raise
    return Path(out)


def _dims_of(volume: GridVolume, data: xr.DataArray) -> list[str]:
    """data's dims in the source's (sections, traces, samples) order."""
    vert = next((d for d in data.dims if d in VERTICAL_DIMS), data.dims[-1])
    rest = [d for d in data.dims if d != vert]
    order = {"iline": 0, "gather": 0, "xline": 1, "cdp": 1, "trace": 1}
    return sorted(rest, key=lambda d: order.get(str(d), 9)) + [vert]
