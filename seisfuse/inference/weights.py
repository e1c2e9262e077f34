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
* ``None``: the pretrained model shipped inside the package (``seisfuse/pretrained/``).
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
PRETRAINED = "pretrained.pt"


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
        """A short name for messages: the file, or 'pretrained'."""
        return self.meta.get("name") or (self.path.name if self.path else "model")

    def build(self, device: str | torch.device = "cpu") -> torch.nn.Module:
        """The FusionNet with these weights, in eval mode."""
        from seisfuse.models import FusionConfig, FusionNet

        net = FusionNet(FusionConfig.from_dict(self.net))
        net.load_state_dict(self.state_dict)
        return net.to(device).eval()

    def to_export(self) -> dict[str, Any]:
        """The weights-only mapping :func:`export` writes (tensors, numbers, strings, lists, dicts)."""
        return {"kind": EXPORT_KIND, "version": EXPORT_VERSION, "net": self.net,
                "branches": self.branches.to_dict(), "meta": self.meta,
                "state_dict": {k: v.detach().cpu().contiguous() for k, v in self.state_dict.items()}}


def pretrained_path() -> Path:
    """Where the shipped pretrained weights live inside the installed package."""
    return Path(str(resources.files("seisfuse") / "pretrained" / PRETRAINED))


def _find_in_folder(folder: Path) -> Path:
    """The one model file in a folder (e.g. a downloaded W&B artifact)."""
    found = sorted(folder.glob("*.pt")) + sorted(folder.glob("*.ckpt"))
    if len(found) != 1:
        what = "no .pt or .ckpt file" if not found else f"{len(found)} model files ({', '.join(p.name for p in found)})"
        raise file_error(folder, f"a model folder must hold one .pt or .ckpt file; it holds {what}")
    return found[0]


def _torch_load(path: Path) -> Any:
    """Load a file with torch's safe (weights-only) unpickler, with one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a foreign or damaged file can fail in many ways
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise file_error(path, f"not a seisfuse checkpoint or weights file ({first})") from None


def load_model_file(path: str | os.PathLike | None = None) -> ModelFile:
    """Read a checkpoint, an exported weights file, a folder holding one, or (None) the shipped model."""
    if path is None:
        source = pretrained_path()
        if not source.is_file():
            raise file_error(source, "the pretrained weights are missing from this installation; reinstall seisfuse "
                                     "or pass a checkpoint")
    else:
        source = Path(path)
        if source.is_dir():
            source = _find_in_folder(source)
        elif not source.is_file():
            raise file_error(source, "checkpoint not found")
    data = _torch_load(source)
    if not isinstance(data, dict):
        raise file_error(source, "not a seisfuse checkpoint or weights file (no mapping inside)")
    model = _from_export(data, source) if data.get("kind") == EXPORT_KIND else _from_checkpoint(data, source)
    model.path = source
    if path is None:
        model.meta.setdefault("name", "pretrained")
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
