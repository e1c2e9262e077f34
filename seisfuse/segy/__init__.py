"""SEG-Y and MDIO volumes: formats and headers, geometry, the volume contract, copies for outputs, the info report."""

from seisfuse.segy.formats import FORMATS, FileHeader, decode_text_header, read_file_header
from seisfuse.segy.geometry import PRESETS, Geometry, HeaderBytes, geometry_from_keys, header_bytes_from
from seisfuse.segy.grid import AXES, AXIS_CHOICES, GridVolume, WritableVolume, check_axis_choice
from seisfuse.segy.mdio import MdioVolume, is_mdio
from seisfuse.segy.output import OutputFile
from seisfuse.segy.report import describe
from seisfuse.segy.volume import OutputVolume, Volume, check_same_geometry, create_output, open_volume

__all__ = ["AXES", "AXIS_CHOICES", "FORMATS", "PRESETS", "FileHeader", "Geometry", "GridVolume", "HeaderBytes",
           "MdioVolume", "OutputFile", "OutputVolume", "Volume", "WritableVolume", "check_axis_choice",
           "check_same_geometry", "create_output", "decode_text_header", "describe", "geometry_from_keys",
           "header_bytes_from", "is_mdio", "open_volume", "read_file_header"]
