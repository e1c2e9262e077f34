"""Model files: what inference needs from a training checkpoint, an exported weights file, or the shipped model.

A :class:`ModelFile` holds the network configuration, its weights and the branch
settings (edge pipeline, clip percentile). It is read without Lightning and without
unpickling code (``torch.load(weights_only=True)``), so the same loader works with any
Lightning version a cluster has, and fast. Sources:

* a Lightning checkpoint written by ``seisfuse fit`` (``checkpoint["seisfuse"]["format"]``
  1 or 2);
* an exported weights file (:func:`export`, ``seisfuse export CKPT OUT.pt``): weights only,
  a few MB, the form the shipped model and W&B model artifacts take;
* a folder holding one of those (a W&B artifact downloaded by ``wandb artifact get``);
* a shipped model by name (:data:`SHIPPED`, inside the package's ``seisfuse/pretrained/``): ``fast`` (raw
  and edge branches, 10x or more faster than BM3D) or ``best`` (with the classical denoisers' estimates as
  branches: needs the ``baselines`` extra, and costs what its branches cost); ``None`` or ``pretrained``
  is the default, ``fast``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from seisfuse.branches import BranchSettings
from seisfuse.errors import file_error

EXPORT_KIND = "seisfuse-weights"
EXPORT_VERSION = 1
CHECKPOINT_FORMATS = (1, 2)  # 1: hyper_parameters edges / clip_percentile; 2: hyper_parameters branches
#: The models shipped inside the package, by name (files in seisfuse/pretrained/).
SHIPPED = {"fast": "fast.pt", "best": "best.pt"}
DEFAULT_MODEL = "fast"
#: Names that mean the default shipped model (`model.init_weights: pretrained` in older configs).
DEFAULT_ALIASES = (None, "pretrained")


@dataclass
class ModelFile:
    """A trained fusion network as plain data: its configuration, weights and branch settings."""

    net: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    branches: BranchSettings
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        """A short name for messages: the file, or the shipped model's name."""
        return self.meta.get("name") or (self.path.name if self.path else "model")

    def build(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        """The FusionNet with these weights, in eval mode."""
        from seisfuse.models import FusionConfig, FusionNet

        config = FusionConfig.from_dict(self.net)
        if config.inputs != len(self.branches.branches):
            raise file_error(self.path or self.name, f"the network fuses {config.inputs} branches but the file lists "
                                                     f"{len(self.branches.branches)} ({', '.join(self.branches.branches)})")
        net = FusionNet(config)
        net.load_state_dict(FusionNet.upgrade_state_dict(self.state_dict))
        return net.to(device).eval()

    def to_export(self) -> dict[str, Any]:
        """The weights-only mapping :func:`export` writes (tensors, numbers, strings, lists, dicts)."""
        return {"kind": EXPORT_KIND, "version": EXPORT_VERSION, "net": self.net,
                "branches": self.branches.to_dict(), "meta": self.meta,
                "state_dict": {k: v.detach().cpu().contiguous() for k, v in self.state_dict.items()}}


def shipped_name(path: str | os.PathLike | None) -> str | None:
    """The shipped model a model argument names (None, 'pretrained', 'fast', 'best'), or None for a path."""
    if path in DEFAULT_ALIASES:
        return DEFAULT_MODEL
    return str(path) if str(path) in SHIPPED else None


def shipped_path(name: str = DEFAULT_MODEL) -> Path:
    """Where a shipped model's weights live inside the installed package."""
    return Path(str(resources.files("seisfuse") / "pretrained" / SHIPPED[name]))


def model_source(path: str | os.PathLike | None = None) -> Path:
    """The file a model argument names: a shipped model's, a checkpoint or weights file, or the one in a folder."""
    name = shipped_name(path)
    if name is not None:
        source = shipped_path(name)
        if not source.is_file():
            raise file_error(source, f"the shipped {name!r} model is missing from this installation; reinstall "
                                     "seisfuse or pass a checkpoint")
        return source
    source = Path(path)
    if source.is_dir():
        return _find_in_folder(source)
    if not source.is_file():
        raise file_error(source, "checkpoint not found (a model is fast, best, a checkpoint, a weights file or a "
                                 "folder holding one)")
    return source


def _find_in_folder(folder: Path) -> Path:
    """The one model file in a folder (e.g. a downloaded W&B artifact)."""
    found = sorted(folder.glob("*.pt")) + sorted(folder.glob("*.ckpt"))
    if len(found) != 1:
        what = "no .pt or .ckpt file" if not found else f"{len(found)} model files ({', '.join(p.name for p in found)})"
        raise file_error(folder, f"a model folder must hold one .pt or .ckpt file; it holds {what}")
    return found[0]


def read_weights_only(path: str | os.PathLike, what: str = "seisfuse checkpoint or weights file") -> Any:
    """A torch file read with torch's safe unpickler (no code runs, whatever the torch version), or a one-line error
    naming the file: the one reader of every checkpoint and weights file seisfuse opens."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or malicious files fail in many ways
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise file_error(path, f"not a readable, weights-only {what} ({first})") from None


def load_model_file(path: str | os.PathLike | None = None) -> ModelFile:
    """Read a shipped model by name (None: the default), a checkpoint, an exported weights file or a folder holding
    one."""
    source = model_source(path)
    data = read_weights_only(source)
    if not isinstance(data, dict):
        raise file_error(source, "not a seisfuse checkpoint or weights file (no mapping inside)")
    model = _from_export(data, source) if data.get("kind") == EXPORT_KIND else _from_checkpoint(data, source)
    model.path = source
    name = shipped_name(path)
    if name is not None:
        model.meta.setdefault("name", name)
    return model


def _from_export(data: dict[str, Any], source: Path) -> ModelFile:
    if data.get("version") != EXPORT_VERSION:
        raise file_error(source, f"seisfuse weights version {data.get('version')!r} is not supported by this seisfuse "
                                 f"(reads version {EXPORT_VERSION}); export it again with this version")
    return ModelFile(dict(data["net"]), dict(data["state_dict"]), BranchSettings.from_dict(data["branches"]),
                     dict(data.get("meta") or {}))


def _from_checkpoint(data: dict[str, Any], source: Path) -> ModelFile:
    marker = data.get("seisfuse")
    if not isinstance(marker, dict) or "hyper_parameters" not in data or "state_dict" not in data:
        raise file_error(source, "not a seisfuse checkpoint (no seisfuse format marker)")
    fmt = marker.get("format")
    if fmt not in CHECKPOINT_FORMATS:
        raise file_error(source, f"seisfuse checkpoint format {fmt!r} is not supported by this seisfuse (reads "
                                 f"{', '.join(map(str, CHECKPOINT_FORMATS))}; written by seisfuse "
                                 f"{marker.get('version', '?')}); upgrade seisfuse")
    hp = data["hyper_parameters"]
    branches = (BranchSettings.from_dict(hp["branches"]) if fmt >= 2 else
                BranchSettings(edges=list(hp["edges"]), clip_percentile=float(hp["clip_percentile"])))
    state = {k[len("net."):]: v for k, v in data["state_dict"].items() if k.startswith("net.")}
    meta = {"seisfuse_version": marker.get("version"), "checkpoint_format": fmt, "epoch": data.get("epoch"),
            "global_step": data.get("global_step"), "loss": dict(hp.get("loss") or {}),
            "patch_size": hp.get("patch_size"), "metrics": _checkpoint_metrics(data)}
    return ModelFile(dict(hp["net"]), state, branches, meta)


def _checkpoint_metrics(data: dict[str, Any]) -> dict[str, float]:
    """The monitored validation metric of the checkpoint callbacks: its best and its last value."""
    out: dict[str, float] = {}
    for key, state in (data.get("callbacks") or {}).items():
        if "ModelCheckpoint" not in str(key) or not isinstance(state, dict) or not state.get("monitor"):
            continue
        for name, value in (("best", state.get("best_model_score")), ("last", state.get("current_score"))):
            if value is not None:
                out[f"{state['monitor']} ({name})"] = float(value)
    return out


def export(checkpoint: str | os.PathLike, out: str | os.PathLike, extra_meta: dict[str, Any] | None = None) -> ModelFile:
    """Write the weights-only file of a checkpoint (or re-export a weights file) to out, atomically."""
    from seisfuse.files import atomic_output

    model = load_model_file(checkpoint)
    model.meta = {**model.meta, **(extra_meta or {}), "source": Path(checkpoint).name}
    model.meta.pop("name", None)
    with atomic_output(out) as tmp:
        torch.save(model.to_export(), tmp)
    return model
