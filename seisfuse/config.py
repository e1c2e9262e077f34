"""Reading the settings that non-training commands share with a training config (edges, normalization, bytes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seisfuse.edges import DEFAULT_PIPELINE, EdgeOpError, EdgePipeline
from seisfuse.errors import file_error
from seisfuse.normalize import DEFAULT_PERCENTILE


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML mapping from a file, with one-line errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise file_error(path, f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise file_error(path, "config must be a YAML mapping (sections trainer, model, data)")
    return data


@dataclass
class BranchSettings:
    """How to make the (raw, edge) pair: the edge pipeline and the clip percentile."""

    edges: list[dict[str, Any]]
    clip_percentile: float = DEFAULT_PERCENTILE

    def pipeline(self) -> EdgePipeline:
        """The edge pipeline these settings describe."""
        return EdgePipeline.from_config(self.edges)


def branch_settings(path: str | os.PathLike | None) -> BranchSettings:
    """Edge pipeline and normalization from a config's `data` section (defaults without a config)."""
    if path is None:
        return BranchSettings(edges=list(DEFAULT_PIPELINE))
    data = load_yaml(path).get("data") or {}
    if "init_args" in data:  # LightningCLI's class_path / init_args form
        data = data["init_args"] or {}
    settings = BranchSettings(edges=data.get("edges", list(DEFAULT_PIPELINE)),
                              clip_percentile=float(data.get("clip_percentile", DEFAULT_PERCENTILE)))
    try:
        settings.pipeline()
    except EdgeOpError as exc:
        raise file_error(path, f"data.edges: {exc}") from None
    return settings
