"""seisfuse: learned fusion of raw and edge-enhanced seismic sections.

The Python API (imported on first use, so `import seisfuse` stays light):

    seisfuse.load_model(path_or_name=None) -> Model      # None: the pretrained model shipped with seisfuse
    Model.fuse(section_or_volume, clip=None)            # numpy or xarray in, the same type and units out
    seisfuse.open_segy(path, iline=None, xline=None)    # lazy xarray.Dataset (segysak conventions)
    seisfuse.write_segy_like(source, out, data)         # every header of source kept
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("seisfuse")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from seisfuse.errors import SeisfuseError

_API = ("Model", "load_model", "open_segy", "write_segy_like")
__all__ = ["SeisfuseError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from seisfuse import api

        return getattr(api, name)
    raise AttributeError(f"module 'seisfuse' has no attribute {name!r}")
