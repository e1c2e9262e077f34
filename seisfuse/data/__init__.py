"""Training data: the patch index (spatial split), caches, datasets and the LightningDataModule."""

from seisfuse.data.datamodule import SeismicDataModule
from seisfuse.data.datasets import PatchDataset, SurveyFile
from seisfuse.data.index import PATCH, expand_files, grid_positions, live_fraction

__all__ = ["PATCH", "PatchDataset", "SeismicDataModule", "SurveyFile", "expand_files", "grid_positions", "live_fraction"]
