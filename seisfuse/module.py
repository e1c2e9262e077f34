"""FusionModule: the LightningModule that trains FusionNet with FusionLoss: steps, loss, metrics, optimizer.

Everything inference needs is saved in the checkpoint's hyperparameters: the network
configuration, the branch settings (edge pipeline, clip percentile) and the patch size.
Pictures, tables and W&B summaries are callbacks (`callbacks.py`).
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

from seisfuse import __version__
from seisfuse.branches import BranchSettings
from seisfuse.losses import FusionLoss, LossConfig
from seisfuse.metrics import ssim_batch, validation_metrics
from seisfuse.models import FusionConfig, FusionNet

CHECKPOINT_FORMAT = 2  # 2: branch settings under hyper_parameters["branches"]; 1: "edges" and "clip_percentile"


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, so hyperparameters stay plain data in checkpoints and configs."""
    return asdict(value) if is_dataclass(value) else value


class FusionModule(pl.LightningModule):
    """Train FusionNet on (raw, edge) patches with FusionLoss, Adam and a warm-up + cosine or plateau schedule."""

    def __init__(
        self,
        net: FusionConfig | dict | None = None,
        loss: LossConfig | dict | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        offset_lr_mult: float = 0.1,
        scheduler: str = "cosine",
        warmup_steps: int = 100,
        min_lr_ratio: float = 0.01,
        plateau_patience: int = 5,
        plateau_factor: float = 0.5,
        metric_images_per_batch: int = 8,
        patch_size: int = 128,
        branches: dict[str, Any] | None = None,
        init_weights: str | None = None,
    ) -> None:
        """Model and optimization settings (keys under `model:` in the YAML config).

        Args:
            net: FusionNet architecture (see seisfuse.models.FusionConfig).
            loss: loss weights (see seisfuse.losses.LossConfig).
            lr: Adam learning rate.
            betas: Adam betas.
            weight_decay: Adam weight decay (L2).
            offset_lr_mult: learning-rate multiplier of the deformable conv's offset predictors.
            scheduler: cosine (linear warm-up then cosine to min_lr_ratio * lr), plateau (on val/loss) or none.
            warmup_steps: optimizer steps of linear warm-up (cosine).
            min_lr_ratio: final learning rate of the cosine schedule, relative to lr.
            plateau_patience: epochs without val/loss improvement before the plateau schedule cuts lr.
            plateau_factor: factor of each plateau cut.
            metric_images_per_batch: validation images per batch scored with Qabf, MI, EN and SSIM.
            patch_size: training patch size (linked from data.patch_size; fits the MS-SSIM window).
            branches: edge pipeline and clip percentile (linked from data.edges and data.clip_percentile; stored
                for inference).
            init_weights: start from these weights (fine-tuning): 'pretrained' (the shipped model), a checkpoint or
                an exported weights file; the architecture is the file's, model.net is ignored.
        """
        super().__init__()
        if scheduler not in ("cosine", "plateau", "none"):
            raise ValueError(f"model.scheduler must be cosine, plateau or none, got {scheduler!r}")
        net_cfg = net if isinstance(net, FusionConfig) else FusionConfig.from_dict(_plain(net))
        loss_cfg = loss if isinstance(loss, LossConfig) else LossConfig.from_dict(_plain(loss))
        settings = BranchSettings.from_dict(branches) if branches else BranchSettings()
        start = None
        if init_weights:
            from seisfuse.weights import load_model_file

            start = load_model_file(None if init_weights == "pretrained" else init_weights)
            if start.branches != settings:
                raise ValueError(f"model.init_weights: {start.name} was trained with edges "
                                 f"{start.branches.pipeline.describe()} and clip percentile "
                                 f"{start.branches.clip_percentile:g}; set data.edges and data.clip_percentile to those")
            net_cfg = FusionConfig.from_dict(start.net)
        self.save_hyperparameters({
            "net": net_cfg.to_dict(), "loss": loss_cfg.to_dict(), "lr": lr, "betas": list(betas),
            "weight_decay": weight_decay, "offset_lr_mult": offset_lr_mult, "scheduler": scheduler,
            "warmup_steps": warmup_steps, "min_lr_ratio": min_lr_ratio, "plateau_patience": plateau_patience,
            "plateau_factor": plateau_factor, "metric_images_per_batch": metric_images_per_batch,
            "patch_size": patch_size, "branches": settings.to_dict(), "init_weights": init_weights,
        }, logger=False)  # the resolved config goes to the logger whole (tracking.py)
        self.branch_settings = settings
        self.net = FusionNet(net_cfg)
        if start is not None:
            self.net.load_state_dict(start.state_dict)
        self.loss_fn = FusionLoss(loss_cfg, patch_size=patch_size)

    def forward(self, raw: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        return self.net(raw, edge)

    def _loss(self, fused: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss of a batch, with its clean references and fault mask when the data provides them."""
        return self.loss_fn(fused, batch["raw"], batch["edge"], clean=batch.get("clean"),
                            clean_edge=batch.get("clean_edge"), fault=batch.get("fault"))

    # ------------------------------------------------------------ steps
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        raw, edge = batch["raw"], batch["edge"]
        total, parts = self._loss(self.net(raw, edge), batch)
        self.log_dict({f"train/{k}": v for k, v in parts.items()}, on_step=True, on_epoch=False,
                      batch_size=raw.shape[0])
        self.log("train/loss_epoch", parts["loss"], on_step=False, on_epoch=True, sync_dist=True,
                 batch_size=raw.shape[0])
        if self._trainer is not None:
            for group in self.optimizers().optimizer.param_groups:
                self.log(f"train/lr_{group.get('name', 'base')}", group["lr"], on_step=True, on_epoch=False,
                         batch_size=raw.shape[0])
        return total

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._score_batch(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._score_batch(batch, "test")

    def _score_batch(self, batch: dict[str, Any], prefix: str) -> None:
        """Log the loss parts and the fusion metrics of a batch as epoch means under prefix/."""
        raw, edge = batch["raw"], batch["edge"]
        fused = self.net(raw, edge)
        _, parts = self._loss(fused, batch)
        n = raw.shape[0]
        self.log_dict({f"{prefix}/{k}": v for k, v in parts.items() if k in ("loss", "ssim", "msssim", "l1", "grad")},
                      on_epoch=True, sync_dist=True, batch_size=n)
        k = min(n, self.hparams.metric_images_per_batch)
        arrays = [t[:k, 0].float().cpu().numpy() for t in (fused, raw, edge)]
        scores = [validation_metrics(f, r, e) for f, r, e in zip(*arrays, strict=True)]
        means = {name: float(np.mean([s[name] for s in scores])) for name in scores[0]}
        self.log_dict({f"{prefix}/{k_}": v for k_, v in means.items()}, on_epoch=True, sync_dist=True, batch_size=k)
        if "has_clean" in batch and bool(batch["has_clean"].any()):
            keep = batch["has_clean"]
            f, c = fused[keep].float(), batch["clean"][keep].float()
            mse = ((f - c) ** 2).flatten(1).mean(1).clamp_min(1e-10)
            self.log_dict({f"{prefix}/ssim_clean": ssim_batch(f, c), f"{prefix}/psnr_clean": (-10 * mse.log10()).mean()},
                          on_epoch=True, sync_dist=True, batch_size=int(keep.sum()))

    # ------------------------------------------------------------ optimization
    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        groups = self.net.param_groups()
        param_groups = [{"params": groups["base"], "lr": hp.lr, "name": "base"}]
        if groups["offset"]:
            param_groups.append({"params": groups["offset"], "lr": hp.lr * hp.offset_lr_mult, "name": "offset"})
        opt = torch.optim.Adam(param_groups, lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)
        if hp.scheduler == "none":
            return {"optimizer": opt}
        if hp.scheduler == "plateau":
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=hp.plateau_factor,
                                                               patience=hp.plateau_patience)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "val/loss", "interval": "epoch"}}
        return {"optimizer": opt, "lr_scheduler": {"scheduler": self._warmup_cosine(opt), "interval": "step"}}

    def _warmup_cosine(self, opt: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        """Linear warm-up from lr / warmup_steps to lr, then cosine down to min_lr_ratio x lr at the last step."""
        from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

        hp = self.hparams
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(hp.warmup_steps, max(total - 1, 0))
        cosine = CosineAnnealingLR(opt, T_max=max(1, total - warmup), eta_min=hp.min_lr_ratio * hp.lr)
        if warmup <= 1:
            return cosine
        return SequentialLR(opt, [LinearLR(opt, 1.0 / warmup, 1.0, total_iters=warmup - 1), cosine],
                            milestones=[warmup])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seisfuse"] = {"version": __version__, "format": CHECKPOINT_FORMAT}
