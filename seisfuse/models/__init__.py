"""The research objects: the fusion network (`fusion.py`) and its blocks (`blocks.py`)."""

from seisfuse.models.fusion import FusionConfig, FusionNet

__all__ = ["FusionConfig", "FusionNet"]
