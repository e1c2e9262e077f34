"""The Python API: load a model, fuse numpy arrays or xarray DataArrays, open SEG-Y as xarray, write like a source.

    import seisfuse
    model = seisfuse.load_model()                     # the shipped model; or a checkpoint / weights path
    ds = seisfuse.open_segy("survey.sgy")             # lazy xarray.Dataset: data(iline, xline, twt)
    fused = model.fuse(ds["data"].sel(iline=1200))    # same type, units, coordinates and dim order out
    seisfuse.write_segy_like("survey.sgy", "fused.sgy", model.fuse(ds["data"]))

`Model.fuse` normalizes and builds the edge branch exactly as `seisfuse predict` does:
for data opened with `open_segy` the clip comes from the whole file (the same trace sample
predict uses); for other arrays from the array itself (`clip=` sets it). Sections larger
than a tile are fused in overlapping tiles (`seisfuse.inference.tiles.Tiling`), as predict does.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seisfuse.branches import Branches, BranchSettings, fit_normalizer
from seisfuse.errors import SeisfuseError
from seisfuse.inference.fusers import Fuser, load_fuser
from seisfuse.inference.tiles import DEFAULT_TILING, Tiling
from seisfuse.normalize import Normalizer, normalizer_from_traces
from seisfuse.segy import HeaderBytes, header_bytes_from, open_volume
from seisfuse.segy.dataset import SOURCE_ATTR, VERTICAL_DIMS, open_dataset, write_like


class Model:
    """A trained fusion model for notebooks: `fuse` sections or volumes of amplitudes."""

    def __init__(self, fuser: Fuser, tiling: Tiling = DEFAULT_TILING) -> None:
        self.fuser = fuser
        self.tiling = tiling

    @property
    def name(self) -> str:
        """Which model this is (file name, or the shipped model's name)."""
        return self.fuser.name

    @property
    def settings(self) -> BranchSettings:
        """The branch settings (edge pipeline, clip percentile) it was trained with."""
        return self.fuser.settings

    def __repr__(self) -> str:
        return f"Model({self.name!r}, {self.settings.describe()})"

    def to(self, device: str | torch.device) -> Model:
        """Move the network to a device (e.g. 'cuda')."""
        self.fuser.to(device)
        return self

    def fuse(self, data: Any, clip: float | None = None) -> Any:
        """Fuse a section (samples x traces numpy array, or DataArray) or a volume; same type and units out."""
        import xarray as xr

        if isinstance(data, xr.DataArray):
            return self._fuse_dataarray(data, clip)
        values = np.asarray(data, dtype=np.float32)
        if values.ndim == 2:
            return self._fuse_sections(values[None], self._normalizer(values, clip))[0]
        if values.ndim == 3:  # (sections, traces, samples), as open_segy's data: fuse inline sections
            sections = np.ascontiguousarray(np.swapaxes(values, 1, 2))
            return np.swapaxes(self._fuse_sections(sections, self._normalizer(values, clip)), 1, 2)
        raise SeisfuseError(f"fuse takes a 2D section (samples x traces) or a 3D volume, got shape {values.shape}")

    def _fuse_dataarray(self, da: Any, clip: float | None) -> Any:
        vert = next((d for d in da.dims if d in VERTICAL_DIMS), None)
        if vert is None:
            raise SeisfuseError(f"fuse: no sample dimension among {list(da.dims)}; name it one of {', '.join(VERTICAL_DIMS)}")
        if clip is None and da.attrs.get(SOURCE_ATTR):
            clip = file_clip(da.attrs[SOURCE_ATTR], self.settings.clip_percentile)
        others = [d for d in da.dims if d != vert]
        if len(others) not in (1, 2):
            raise SeisfuseError(f"fuse takes a section or a volume, got dims {list(da.dims)}")
        values = da.transpose(*others, vert).values.astype(np.float32)  # (traces, samples) or (sections, traces, samples)
        fused = self.fuse(values.T if len(others) == 1 else values, clip)
        fused = fused.T if len(others) == 1 else fused
        out = da.copy(data=np.asarray(fused).astype(da.dtype if da.dtype.kind == "f" else np.float32, copy=False)
                      .transpose([list((*others, vert)).index(d) for d in da.dims]))
        out.attrs = {**da.attrs, "seisfuse_model": self.name}
        return out

    def _normalizer(self, values: np.ndarray, clip: float | None) -> Normalizer:
        """The given clip, or the array's own, by predict's rule (the percentile of |amplitude| of live traces)."""
        if clip is not None:
            return Normalizer(clip, self.settings.clip_percentile)
        traces = values.T if values.ndim == 2 else values.reshape(-1, values.shape[-1])  # one trace per row
        return normalizer_from_traces(traces, "fuse", self.settings.clip_percentile)

    def _fuse_sections(self, sections: np.ndarray, normalizer: Normalizer) -> np.ndarray:
        """(N, samples, traces) amplitudes -> fused amplitudes, through predict's spine; dead traces stay zero."""
        return self.fuser.fuse_amplitudes(sections, Branches(self.settings, normalizer), self.tiling)


def load_model(path_or_name: str | os.PathLike | None = None, device: str = "cpu") -> Model:
    """A shipped model by name ('fast', the default, or 'best'), or a checkpoint, an exported weights file or a folder
    holding one."""
    return Model(load_fuser(path_or_name, device))


@lru_cache(maxsize=32)
def _file_clip(path: str, mtime_ns: int, percentile: float) -> float:
    with open_volume(path) as vol:
        return fit_normalizer(vol, percentile).clip


def file_clip(path: str | os.PathLike, percentile: float) -> float:
    """The clip predict uses for a file (its robust statistics), cached per file version."""
    return _file_clip(str(Path(path).resolve()), Path(path).stat().st_mtime_ns, percentile)


def open_segy(path: str | os.PathLike, iline: int | None = None, xline: int | None = None,
              preset: str | None = None, section_key: int | None = None) -> Any:
    """A SEG-Y file as a lazy xarray.Dataset (segysak conventions); header bytes detected unless given."""
    return open_dataset(path, header_bytes_from(preset, iline, xline, section_key))


def write_segy_like(source_path: str | os.PathLike, out_path: str | os.PathLike, data: Any,
                    header_bytes: HeaderBytes | None = None, force: bool = False) -> Path:
    """Write a volume (numpy or DataArray) as a copy of source_path with every header kept, atomically."""
    return write_like(source_path, out_path, data, header_bytes, force)
