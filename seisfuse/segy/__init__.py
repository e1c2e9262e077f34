"""SEG-Y on segyio: formats and headers, geometry, the lazy Volume, header-preserving writes, the info report."""

from seisfuse.segy.formats import FORMATS, FileHeader, decode_text_header, read_file_header
from seisfuse.segy.geometry import PRESETS, Geometry, HeaderBytes, geometry_from_keys, header_bytes_from
from seisfuse.segy.grid import AXES, GridVolume
from seisfuse.segy.mdio import MdioVolume, is_mdio
from seisfuse.segy.report import describe
from seisfuse.segy.volume import Volume, check_same_geometry, open_volume
from seisfuse.segy.writing import OutputVolume, create_output, reopen_output

__all__ = ["AXES", "FORMATS", "PRESETS", "FileHeader", "Geometry", "GridVolume", "HeaderBytes", "OutputVolume", "Volume",
           "check_same_geometry", "create_output", "decode_text_header", "describe", "geometry_from_keys",
           "header_bytes_from", "is_mdio", "MdioVolume", "open_volume", "read_file_header", "reopen_output"]
