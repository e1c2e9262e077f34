"""Fusing whole volumes: stream sections through a trained network (or a baseline) into a new SEG-Y.

For every section along the chosen axis: read it, normalize it with the input's own
robust statistics, make the edge branch with the checkpoint's pipeline, fuse (batched;
sections larger than `tile` are cut into overlapping tiles blended with smooth weights),
map back to the input's amplitude units, keep dead traces at zero, and write its traces
into a copy of the input (every header kept). `--axis both` runs an inline pass, then a
crossline pass that averages with what the first pass wrote (the buffer is the output
file, not RAM). Memory holds a few batches of sections whatever the volume size.

The loop is Lightning's predict loop: DataLoader workers read and prepare sections while
the device fuses, and with `devices > 1` the sections are split across ranks, each rank
writing only its own traces into the output created before the ranks start. Outputs
are written to a temporary file beside the target and renamed when every rank is done.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import DataLoader, Dataset

from seisfuse.branches import Branches, BranchSettings
from seisfuse.errors import SettingError, file_error
from seisfuse.files import check_output, temp_path_for
from seisfuse.models.baselines import BASELINES, method
from seisfuse.normalize import Normalizer, fit_normalizer
from seisfuse.ranks import is_global_zero
from seisfuse.segy import HeaderBytes, OutputVolume, Volume, create_output, open_volume

TMP_ENV = "SEISFUSE_PREDICT_TMP"  # the pre-created output, shared with ranks Lightning launches later
DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 64


# ---------------------------------------------------------------- fusers: (B, 1, H, W) in [0, 1] -> (B, 1, H, W)
@dataclass
class Fuser:
    """Something that fuses batches of normalized (raw, edge) sections, with the settings that made them."""

    name: str
    settings: BranchSettings
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    module: torch.nn.Module | None = None

    def fuse_section(self, raw: np.ndarray, edge: np.ndarray) -> np.ndarray:
        """Fuse one (H, W) section on the CPU (previews)."""
        with torch.no_grad():
            out = self.fn(torch.from_numpy(raw)[None, None], torch.from_numpy(edge)[None, None])
        return out[0, 0].float().numpy()


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start positions of tiles covering length, overlapping by at least overlap, the last one aligned to the end."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


def blend_window(h: int, w: int, overlap: int) -> torch.Tensor:
    """Tile weight: 1 inside, rising linearly over `overlap` pixels at each edge (never 0)."""
    def ramp(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=torch.float32)
        edge = torch.minimum(i + 1, n - i) / max(overlap, 1)
        return edge.clamp(max=1.0)

    return ramp(h)[:, None] * ramp(w)[None, :]


def tiled(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], raw: torch.Tensor, edge: torch.Tensor,
          tile: int, overlap: int) -> torch.Tensor:
    """Apply fn to (B, 1, H, W) inputs whole, or in overlapping tiles blended by weight when larger than tile."""
    _, _, h, w = raw.shape
    if h <= tile and w <= tile:
        return fn(raw, edge)
    out = torch.zeros_like(raw, dtype=torch.float32)
    weight = torch.zeros((h, w), dtype=torch.float32, device=raw.device)
    for y in tile_starts(h, tile, overlap):
        for x in tile_starts(w, tile, overlap):
            th, tw = min(tile, h), min(tile, w)
            win = blend_window(th, tw, overlap).to(raw.device)
            part = fn(raw[..., y:y + th, x:x + tw], edge[..., y:y + th, x:x + tw]).float()
            out[..., y:y + th, x:x + tw] += part * win
            weight[y:y + th, x:x + tw] += win
    return out / weight


def load_fuser(ckpt: str | os.PathLike, device: str = "cpu") -> Fuser:
    """The network of a training checkpoint with the edge pipeline and normalization it was trained with."""
    from seisfuse.module import FusionModule

    path = Path(ckpt)
    if not path.is_file():
        raise file_error(path, "checkpoint not found")
    try:
        module = FusionModule.load_from_checkpoint(path, map_location=device, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - unpickling a foreign file can fail in any way
        raise file_error(path, f"not a seisfuse checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    module.eval()
    settings = module.branch_settings
    return Fuser(name=path.name, settings=settings, fn=module.net, module=module)


def baseline_fuser(name: str, settings: BranchSettings | None = None, **params: float) -> Fuser:
    """A classical fusion method or filter on (raw, edge) pairs made with the given settings (defaults without)."""
    try:
        func = method(name, **params)
    except ValueError as exc:
        raise SettingError("method", str(exc)) from None

    def fn(raw: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        r, e = raw.detach().float().cpu().numpy(), edge.detach().float().cpu().numpy()
        out = np.stack([func(r[i, 0], e[i, 0]) for i in range(r.shape[0])])[:, None]
        return torch.from_numpy(out).to(raw.device)

    return Fuser(name=func.__name__ if name not in BASELINES else name, settings=settings or BranchSettings(), fn=fn)


# ---------------------------------------------------------------- sections in, fused sections out
class SectionDataset(Dataset):
    """Whole sections of one axis, normalized, with their edge branch and dead-trace mask."""

    def __init__(self, volume: Volume, axis: str, branches: Branches) -> None:
        self.volume = volume
        self.axis = axis
        self.branches = branches

    def __len__(self) -> int:
        return self.volume.n_sections(self.axis)

    def __getitem__(self, k: int) -> dict[str, Any]:
        section = self.volume.section(self.axis, k)
        dead = ~np.any(np.isfinite(section) & (section != 0), axis=0)
        raw, edge = self.branches.pair(section)
        return {"index": k, "raw": torch.from_numpy(raw)[None], "edge": torch.from_numpy(edge)[None],
                "dead": torch.from_numpy(dead)}


class PredictModule(pl.LightningModule):
    """Lightning wrapper running a Fuser in predict_step (tiled, under the Trainer's precision)."""

    def __init__(self, fuser: Fuser, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP) -> None:
        super().__init__()
        self.fuser = fuser
        self.net = fuser.module  # registered, so Lightning moves it to the device
        self.tile = tile
        self.overlap = overlap

    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        fused = tiled(self.fuser.fn, batch["raw"], batch["edge"], self.tile, self.overlap)
        return fused.float().clamp(0.0, 1.0)


class SegyWriter(BasePredictionWriter):
    """Write each predicted batch of sections into the output volume (this rank's sections only)."""

    def __init__(self, output: Volume, normalizer: Normalizer, progress: bool = True) -> None:
        super().__init__(write_interval="batch")
        self.output = output
        self.normalizer = normalizer
        self.progress = progress
        self.axis = "inline"
        self.average = False
        self.done = 0
        self.total = 0
        self.started = 0.0
        self._bar = None

    def start_pass(self, axis: str, average: bool, total: int, label: str) -> None:
        """Set the axis of the next pass and whether it averages with what the file holds."""
        self.axis, self.average, self.total, self.done = axis, average, total, 0
        self.started = time.perf_counter()
        if self.progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=label, unit="section", leave=True)

    def end_pass(self) -> float:
        """Close the progress bar; returns seconds the pass took."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self.output.flush()
        return time.perf_counter() - self.started

    def write_on_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, prediction: torch.Tensor,
                           batch_indices: Sequence[int] | None, batch: dict[str, Any], batch_idx: int,
                           dataloader_idx: int = 0) -> None:
        fused = prediction[:, 0].cpu().numpy()
        for i, k in enumerate(batch["index"].tolist()):
            amp = self.normalizer.inverse(fused[i])
            amp[:, batch["dead"][i].cpu().numpy()] = 0.0
            if self.average:
                amp = 0.5 * (amp + self.output.section(self.axis, k))
            self.output.write_section(self.axis, k, amp)
        self.done += len(batch["index"])
        if self._bar is not None:
            self._bar.update(len(batch["index"]) * trainer.world_size)


@dataclass
class PredictResult:
    """What a prediction run did."""

    output: Path
    sections: int
    seconds: float
    clip: float
    axes: list[str]


def _accelerator(device: str) -> str:
    if device not in ("auto", "cpu", "cuda", "gpu"):
        raise SettingError("device", f"must be auto, cpu or cuda, got {device!r}")
    if device in ("cuda", "gpu") and not torch.cuda.is_available():
        raise SettingError("device", "cuda: no CUDA device is available on this machine")
    return "gpu" if device == "cuda" else device


def _precision(precision: str) -> str:
    table = {"32": "32-true", "bf16": "bf16-mixed", "16": "16-mixed"}
    if precision not in table:
        raise SettingError("precision", f"must be 32, bf16 or 16, got {precision!r}")
    return table[precision]


def predict_volume(fuser: Fuser, input_path: str | os.PathLike, output_path: str | os.PathLike, *,
                   axis: str = "inline", batch_size: int = 4, device: str = "auto", devices: int = 1,
                   precision: str = "32", num_workers: int = 2, tile: int = DEFAULT_TILE,
                   overlap: int = DEFAULT_OVERLAP, force: bool = False, header_bytes: HeaderBytes | None = None,
                   progress: bool = True) -> PredictResult:
    """Fuse every section of input_path and write output_path (atomically, all headers kept)."""
    if axis not in ("inline", "crossline", "both"):
        raise SettingError("axis", f"must be inline, crossline or both, got {axis!r}")
    for name, value, ok, rule in (("batch_size", batch_size, batch_size >= 1, ">= 1"), ("devices", devices, devices >= 1, ">= 1"),
                                  ("tile", tile, tile >= 16, ">= 16"),
                                  ("overlap", overlap, 0 <= overlap < tile // 2, f"in [0, tile / 2 = {tile // 2})")):
        if not ok:
            raise SettingError(name, f"must be {rule}, got {value}")
    accelerator, prec = _accelerator(device), _precision(precision)
    shared_tmp = os.environ.get(TMP_ENV)  # set: this process is a rank launched after the output was created
    if shared_tmp is None:
        check_output(output_path, [input_path], force=force)
    source = open_volume(input_path, header_bytes)
    axes = ["inline", "crossline"] if axis == "both" else [axis]
    if source.geometry.kind == "2d":
        if axis == "crossline":
            raise file_error(source.path, "a 2D line has no crossline sections; use --axis inline")
        axes = ["inline"]
    normalizer = fit_normalizer(source, fuser.settings.clip_percentile)
    branches = Branches(fuser.settings, normalizer)
    tmp = Path(shared_tmp) if shared_tmp else temp_path_for(output_path)
    try:
        if shared_tmp is None:
            create_output(source, tmp).close()
            os.environ[TMP_ENV] = str(tmp)
        out = OutputVolume.reopen(tmp, source)
        writer = SegyWriter(out, normalizer, progress=progress)
        # ranks are launched by Lightning on this node, also inside a SLURM job that has several tasks
        trainer = pl.Trainer(accelerator=accelerator, devices=devices, precision=prec, logger=False,
                             callbacks=[writer], enable_progress_bar=False, enable_model_summary=False,
                             enable_checkpointing=False, inference_mode=True, plugins=[LightningEnvironment()])
        module = PredictModule(fuser, tile, overlap)
        seconds, total = 0.0, 0
        for i, ax in enumerate(axes):
            ds = SectionDataset(source, ax, branches)
            loader = DataLoader(ds, batch_size=batch_size, num_workers=num_workers, shuffle=False,
                                persistent_workers=False, pin_memory=accelerator == "gpu")
            label = f"{Path(input_path).name} {ax}" + (" (averaging)" if i else "")
            writer.start_pass(ax, average=i > 0, total=len(ds), label=label)
            writer.progress = progress and trainer.is_global_zero
            try:
                trainer.predict(module, dataloaders=loader, return_predictions=False)
            except SystemExit:  # Lightning turns Ctrl-C into a graceful shutdown and exit(1)
                if trainer.interrupted:
                    raise KeyboardInterrupt from None
                raise
            seconds += writer.end_pass()
            total += len(ds)
            trainer.strategy.barrier("seisfuse-pass")
        out.close()
        if trainer.is_global_zero:
            os.replace(tmp, output_path)
    except BaseException:
        if shared_tmp is None or is_global_zero():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    finally:
        source.close()
        if shared_tmp is None:
            os.environ.pop(TMP_ENV, None)
    return PredictResult(Path(output_path), total, seconds, normalizer.clip, axes)
