"""seisfuse: learned fusion of raw and edge-enhanced seismic sections."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seisfuse")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from seisfuse.errors import SeisfuseError

__all__ = ["SeisfuseError", "__version__"]
