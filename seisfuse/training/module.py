"""FusionModule: the LightningModule that trains FusionNet with FusionLoss: steps, loss, metrics, optimizer wiring.

As in lightning-hydra-template, the optimizer and the learning-rate schedule are injected by
the config (`model.optimizer`, `model.scheduler`: class_path + init_args, built by
LightningCLI), the initial weights of a fine-tune are loaded when training starts
(`configure_model`, never in the constructor, so `load_from_checkpoint` needs no other
file), and the validation metrics are torchmetrics objects that stay on the device and
are reduced across ranks once per epoch. Everything inference needs is saved in the
checkpoint's hyperparameters: the network configuration, the branch settings (edge
pipeline, clip percentile) and the patch size. Pictures, tables and W&B summaries are
callbacks (`callbacks.py`).

`val/score` is the run's single figure of merit: the mean SSIM to the noise-free reference
over the validation items that have one (the fixed synthetic validation set), the same
quantity whatever the loss, so that runs with different losses rank on one scale.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass, replace
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.cli import OptimizerCallable
from torchmetrics import MeanMetric

from seisfuse import __version__
from seisfuse.branches import BranchSettings
from seisfuse.evaluation.batch_metrics import entropy_batch, mutual_information_batch, psnr_batch, qabf_batch, ssim_batch
from seisfuse.models import FusionConfig, FusionNet
from seisfuse.training.losses import FusionLoss, LossConfig
from seisfuse.training.schedules import ScheduleCallable, WarmupCosine

CHECKPOINT_FORMAT = 2  # 2: branch settings under hyper_parameters["branches"]; 1: "edges" and "clip_percentile"
SCORE = "val/score"
#: Fusion metrics against the two sources, per validation epoch (a few images per batch).
SOURCE_METRICS = ("qabf", "mi", "en")


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, so hyperparameters stay plain data in checkpoints and configs."""
    return asdict(value) if is_dataclass(value) else value


def _adam(params: Any) -> torch.optim.Optimizer:
    """The default optimizer: Adam at lr 1e-3."""
    return torch.optim.Adam(params, lr=1e-3)


def _warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int) -> WarmupCosine:
    """The default schedule: 100 warm-up steps, then cosine to 1% of the learning rate."""
    return WarmupCosine(optimizer, total_steps)


class FusionModule(pl.LightningModule):
    """Train FusionNet on (raw, edge) patches with FusionLoss and the injected optimizer and schedule."""

    def __init__(
        self,
        net: FusionConfig | dict | None = None,
        loss: LossConfig | dict | None = None,
        optimizer: OptimizerCallable = _adam,
        scheduler: ScheduleCallable | None = _warmup_cosine,
        offset_lr_mult: float = 0.1,
        metric_images_per_batch: int = 8,
        patch_size: int = 128,
        branches: dict[str, Any] | None = None,
        init_weights: str | None = None,
    ) -> None:
        """Model and optimization settings (keys under `model:` in the YAML config).

        Args:
            net: FusionNet architecture (see seisfuse.models.FusionConfig).
            loss: loss weights (see seisfuse.training.losses.LossConfig).
            optimizer: the optimizer, e.g. {class_path: torch.optim.Adam, init_args: {lr: 0.002}}.
            scheduler: the learning-rate schedule, built as schedule(optimizer, total_steps): seisfuse.training.schedules.
                WarmupCosine (default), Plateau (on val/score) or Constant.
            offset_lr_mult: learning-rate multiplier of the deformable conv's offset predictors.
            metric_images_per_batch: validation images per batch scored with Qabf, MI and EN.
            patch_size: training patch size (linked from data.patch_size; fits the MS-SSIM window).
            branches: the branch list, edge pipeline and clip percentile (linked from data.branches, data.edges and
                data.clip_percentile; stored for inference).
            init_weights: start from these weights when training starts (fine-tuning): 'pretrained' (the shipped
                model), a checkpoint or an exported weights file; `seisfuse fit` takes the architecture from it.
        """
        super().__init__()
        if offset_lr_mult < 0 or metric_images_per_batch < 0:
            raise ValueError("model.offset_lr_mult and model.metric_images_per_batch must be >= 0")
        net_cfg = net if isinstance(net, FusionConfig) else FusionConfig.from_dict(_plain(net))
        loss_cfg = loss if isinstance(loss, LossConfig) else LossConfig.from_dict(_plain(loss))
        settings = BranchSettings.from_dict(branches) if branches else BranchSettings()
        net_cfg = replace(net_cfg, inputs=len(settings.branches))  # one encoder per branch of the data
        self.save_hyperparameters({
            "net": net_cfg.to_dict(), "loss": loss_cfg.to_dict(), "offset_lr_mult": offset_lr_mult,
            "metric_images_per_batch": metric_images_per_batch, "patch_size": patch_size,
            "branches": settings.to_dict(), "init_weights": init_weights,
        }, logger=False)  # the resolved config goes to the logger whole (tracking.py)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.branch_settings = settings
        self.net = FusionNet(net_cfg)
        self.loss_fn = FusionLoss(loss_cfg, patch_size=patch_size)
        self.metrics = torch.nn.ModuleDict({f"{stage}_{name}": MeanMetric() for stage in ("val", "test")
                                            for name in (*SOURCE_METRICS, "ssim_clean", "psnr_clean", "score")})

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)

    def configure_model(self) -> None:
        """Load the initial weights of a fine-tune, once, when `fit` starts (a resumed checkpoint then overrides them;
        `seisfuse fit --ckpt_path` clears init_weights, so a resume reads no other file)."""
        path = self.hparams.init_weights
        if not path or getattr(self, "_init_loaded", False) or self._trainer is None or self.trainer.state.fn != "fit":
            return
        from seisfuse.inference.weights import load_model_file

        start = load_model_file(path)  # the architecture was checked against model.net with the config (config.py)
        self.net.load_state_dict(FusionNet.upgrade_state_dict(start.state_dict))
        self._init_loaded = True

    def _loss(self, fused: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of a batch, with its clean references and fault mask when the data provides them."""
        return self.loss_fn(fused, batch["raw"], batch["edge"], clean=batch.get("clean"),
                            clean_edge=batch.get("clean_edge"), fault=batch.get("fault"), target=batch.get("target"),
                            mask=batch.get("mask"), has_clean=batch.get("has_clean"))

    # ------------------------------------------------------------ steps
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        raw = batch["raw"]
        total, parts = self._loss(self.net(batch["inputs"]), batch)
        self.log_dict({f"train/{k}": v for k, v in parts.items()}, on_step=True, on_epoch=False,
                      batch_size=raw.shape[0])
        self.log("train/loss_epoch", parts["loss"], on_step=False, on_epoch=True, sync_dist=True,
                 batch_size=raw.shape[0])
        return total

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._score_batch(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._score_batch(batch, "test")

    def _metric(self, stage: str, name: str, values: torch.Tensor) -> None:
        """Accumulate per-image values into the stage's metric on the device and log it for the epoch."""
        metric = self.metrics[f"{stage}_{name}"]
        metric.update(values)
        self.log(f"{stage}/{name}", metric, on_step=False, on_epoch=True)

    def _score_batch(self, batch: dict[str, Any], stage: str) -> None:
        """Log the loss parts, the source metrics and the scores against clean references as epoch means."""
        raw, edge = batch["raw"], batch["edge"]
        fused = self.net(batch["inputs"])
        _, parts = self._loss(fused, batch)
        n = raw.shape[0]
        dm = self.trainer.datamodule if self._trainer is not None else None
        hidden = getattr(dm, "val_has_hidden_pixels", True)  # no masked validation items: no blind-spot part (not nan)
        for name in self.loss_fn.part_names():  # every rank logs every part (weight 0 where a batch has none)
            if name == "blindspot" and not hidden:
                continue
            value = parts.get(name)
            self.log(f"{stage}/{name}", value if value is not None else fused.new_zeros(()), on_epoch=True,
                     sync_dist=True, batch_size=n if value is not None else 0)
        k = min(n, self.hparams.metric_images_per_batch)
        if k:
            f, r, e = fused[:k].float(), raw[:k].float(), edge[:k].float()
            self._metric(stage, "qabf", qabf_batch(r, e, f))
            self._metric(stage, "mi", mutual_information_batch(f, r) + mutual_information_batch(f, e))
            self._metric(stage, "en", entropy_batch(f))
        # every rank logs every metric on every batch (an empty update when no item has a clean reference): the
        # epoch-end reduction across ranks is a collective that all of them must join
        keep = batch.get("has_clean")
        if keep is None:
            keep = torch.zeros(n, dtype=torch.bool, device=fused.device)
        f, c = fused[keep].float(), batch["clean"][keep].float() if "clean" in batch else fused[keep].float()
        ssim = torch.stack([ssim_batch(f[i:i + 1], c[i:i + 1]) for i in range(f.shape[0])]) if len(f) else f.new_zeros(0)
        self._metric(stage, "ssim_clean", ssim)
        self._metric(stage, "psnr_clean", psnr_batch(f, c) if len(f) else f.new_zeros(0))
        self._metric(stage, "score", ssim)

    # ------------------------------------------------------------ optimization
    def configure_optimizers(self) -> dict[str, Any]:
        """The injected optimizer over two groups (the offset predictors at offset_lr_mult x lr) and its schedule."""
        groups = self.net.param_groups()
        param_groups = [{"params": groups["base"], "name": "base"}]
        if groups["offset"]:
            param_groups.append({"params": groups["offset"], "name": "offset"})
        opt = self.optimizer_factory(param_groups)
        for group in opt.param_groups:
            if group["name"] == "offset":
                group["lr"] *= self.hparams.offset_lr_mult
        if self.scheduler_factory is None:
            return {"optimizer": opt}
        sched = self.scheduler_factory(opt, int(self.trainer.estimated_stepping_batches))
        config = {"scheduler": sched, "interval": getattr(sched, "interval", "step")}
        if getattr(sched, "monitor", None):
            config["monitor"] = sched.monitor
        return {"optimizer": opt, "lr_scheduler": config}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seisfuse"] = {"version": __version__, "format": CHECKPOINT_FORMAT}
