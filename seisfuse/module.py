"""FusionModule: the LightningModule that trains FusionNet with FusionLoss and logs what a researcher compares.

Everything inference needs is saved in the checkpoint's hyperparameters: the network
configuration, the edge pipeline, the clip percentile of normalization and the patch size.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger as _LightningWandb

from seisfuse import __version__
from seisfuse.edges import DEFAULT_PIPELINE, EdgePipeline
from seisfuse.losses import FusionLoss, LossConfig
from seisfuse.metrics import entropy, fusion_mi, qabf, ssim
from seisfuse.models import FusionConfig, FusionNet
from seisfuse.normalize import DEFAULT_PERCENTILE
from seisfuse.viz import DIFFERENCE, Extent, Panel, render, to_rgb

CHECKPOINT_FORMAT = 1
#: W&B summary of each validation metric: what the best run looks like.
SUMMARIES = {"val/loss": "min", "val/qabf": "max", "val/mi": "max", "val/en": "max", "val/ssim_raw": "max",
             "val/ssim_edge": "max"}


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, so hyperparameters stay plain data in checkpoints and configs."""
    return asdict(value) if is_dataclass(value) else value


def patch_metrics(fused: np.ndarray, raw: np.ndarray, edge: np.ndarray) -> dict[str, float]:
    """The validation subset of the fusion metrics for one image."""
    return {"qabf": qabf(raw, edge, fused), "mi": fusion_mi(fused, raw, edge), "en": entropy(fused),
            "ssim_raw": ssim(fused, raw), "ssim_edge": ssim(fused, edge)}


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
        panel_every_n_epochs: int = 1,
        metric_images_per_batch: int = 8,
        patch_size: int = 128,
        edges: list[dict[str, Any]] = DEFAULT_PIPELINE,  # noqa: B006 - read only
        clip_percentile: float = DEFAULT_PERCENTILE,
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
            panel_every_n_epochs: log raw | edge | fused panels and the per-section table every N epochs.
            metric_images_per_batch: validation images per batch scored with Qabf, MI, EN and SSIM.
            patch_size: training patch size (linked from data.patch_size; fits the MS-SSIM window).
            edges: the edge pipeline (linked from data.edges; stored for inference).
            clip_percentile: normalization clip percentile (linked from data.clip_percentile; stored for inference).
        """
        super().__init__()
        if scheduler not in ("cosine", "plateau", "none"):
            raise ValueError(f"model.scheduler must be cosine, plateau or none, got {scheduler!r}")
        net_cfg = net if isinstance(net, FusionConfig) else FusionConfig.from_dict(_plain(net))
        loss_cfg = loss if isinstance(loss, LossConfig) else LossConfig.from_dict(_plain(loss))
        edges = [dict(op) for op in edges]
        EdgePipeline.from_config(edges)  # validate now, not at inference
        self.save_hyperparameters({
            "net": net_cfg.to_dict(), "loss": loss_cfg.to_dict(), "lr": lr, "betas": list(betas),
            "weight_decay": weight_decay, "offset_lr_mult": offset_lr_mult, "scheduler": scheduler,
            "warmup_steps": warmup_steps, "min_lr_ratio": min_lr_ratio, "plateau_patience": plateau_patience,
            "plateau_factor": plateau_factor, "panel_every_n_epochs": panel_every_n_epochs,
            "metric_images_per_batch": metric_images_per_batch, "patch_size": patch_size, "edges": edges,
            "clip_percentile": clip_percentile,
        }, logger=False)  # the resolved config goes to the logger whole (tracking.py)
        self.net = FusionNet(net_cfg)
        self.loss_fn = FusionLoss(loss_cfg, patch_size=patch_size)

    def forward(self, raw: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        return self.net(raw, edge)

    # ------------------------------------------------------------ steps
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        raw, edge = batch["raw"], batch["edge"]
        total, parts = self.loss_fn(self.net(raw, edge), raw, edge)
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
        _, parts = self.loss_fn(fused, raw, edge)
        n = raw.shape[0]
        self.log_dict({f"{prefix}/{k}": v for k, v in parts.items() if k in ("loss", "ssim", "msssim", "l1", "grad")},
                      on_epoch=True, sync_dist=True, batch_size=n)
        k = min(n, self.hparams.metric_images_per_batch)
        arrays = [t[:k, 0].float().cpu().numpy() for t in (fused, raw, edge)]
        scores = [patch_metrics(f, r, e) for f, r, e in zip(*arrays, strict=True)]
        means = {name: float(np.mean([s[name] for s in scores])) for name in scores[0]}
        self.log_dict({f"{prefix}/{k_}": v for k_, v in means.items()}, on_epoch=True, sync_dist=True, batch_size=k)

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
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(hp.warmup_steps, max(total - 1, 0))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return hp.min_lr_ratio + (1 - hp.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # ------------------------------------------------------------ logging
    def on_fit_start(self) -> None:
        if self.trainer.is_global_zero and isinstance(self.logger, _LightningWandb):
            run = self.logger.experiment
            for key, summary in SUMMARIES.items():
                run.define_metric(key, summary=summary)
            dm = getattr(self.trainer, "datamodule", None)
            if dm is not None and hasattr(dm, "state_info"):
                run.config.update({"data_info": dm.state_info()}, allow_val_change=True)

    def on_validation_epoch_end(self) -> None:
        trainer = self.trainer
        every = self.hparams.panel_every_n_epochs
        if trainer.sanity_checking or not trainer.is_global_zero or every <= 0 or self.current_epoch % every:
            return
        dm = getattr(trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "panels"):
            return
        images, captions, rows = [], [], []
        was_training = self.net.training
        self.net.eval()
        with torch.no_grad():
            for name, raw, edge in dm.panels():
                r = torch.from_numpy(raw)[None, None].to(self.device)
                e = torch.from_numpy(edge)[None, None].to(self.device)
                fused = self.net(r, e)[0, 0].float().cpu().numpy()
                scores = patch_metrics(fused, raw, edge)
                rows.append([name, self.current_epoch] + [round(v, 5) for v in scores.values()])
                fig = render([Panel("raw", raw), Panel("edge", edge, dm.pipeline.output), Panel("fused", fused),
                              Panel("fused - raw", fused - raw, DIFFERENCE)],
                             Extent("trace", 0, raw.shape[1], "sample", 0, raw.shape[0]),
                             f"{name} | epoch {self.current_epoch} | Qabf {scores['qabf']:.3f}",
                             panel_width_in=3.0, height_in=3.5, dpi=80)
                images.append(to_rgb(fig))
                captions.append(name)
        self.net.train(was_training)
        columns = ["section", "epoch", "qabf", "mi", "en", "ssim_raw", "ssim_edge"]
        self._publish_panels(images, captions, columns, rows)

    def _publish_panels(self, images: list[np.ndarray], captions: list[str], columns: list[str],
                        rows: list[list[Any]]) -> None:
        """Send panels and the per-section table to W&B, or write PNG / CSV files into the run folder."""
        if not images:
            return
        logger = self.logger
        if isinstance(logger, _LightningWandb):
            logger.log_image(key="val/panels", images=images, caption=captions, step=self.global_step)
            logger.log_table(key="val/sections", columns=columns, data=rows, step=self.global_step)
            return
        folder = Path(logger.log_dir if logger is not None and logger.log_dir else self.trainer.default_root_dir)
        folder = folder / "panels"
        folder.mkdir(parents=True, exist_ok=True)
        from matplotlib.image import imsave

        for img, cap in zip(images, captions, strict=True):
            imsave(folder / f"epoch{self.current_epoch:03d}_{cap.replace(' ', '_')}.png", img)
        table = folder / "sections.csv"
        new = not table.exists()
        with open(table, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(columns)
            w.writerows(rows)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seisfuse"] = {"version": __version__, "format": CHECKPOINT_FORMAT}
