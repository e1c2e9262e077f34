"""The research objects: the fusion network and its blocks (`blocks.py`); classical baselines in `baselines.py`."""

from seisfuse.models.fusion import FusionConfig, FusionNet

__all__ = ["FusionConfig", "FusionNet"]
