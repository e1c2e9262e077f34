"""Inference: model files, the fusing spine, tiles, the plan of a run across ranks, and streaming files through it."""
