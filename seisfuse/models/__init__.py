"""The research objects: fusion network, its blocks, and classical fusion baselines."""

from seisfuse.models.fusion import FusionConfig, FusionNet

__all__ = ["FusionConfig", "FusionNet"]
