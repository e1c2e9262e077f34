"""Training extras as Lightning callbacks: validation panels with a per-section table, and the W&B run summary.

The panels go to W&B as images and a table when the logger is W&B, else into the
logger's folder as PNG files and `sections.csv` (the CSV logger's folder, or the run folder).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger

from seisfuse.metrics import validation_metrics
from seisfuse.viz import DIFFERENCE, Extent, Panel, render, to_rgb

#: W&B summary of each validation metric: what the best run looks like.
SUMMARIES = {"val/loss": "min", "val/qabf": "max", "val/mi": "max", "val/en": "max", "val/ssim_raw": "max",
             "val/ssim_edge": "max", "val/ssim_clean": "max", "val/psnr_clean": "max"}
TABLE_COLUMNS = ["section", "epoch", "qabf", "mi", "en", "ssim_raw", "ssim_edge"]


class ValidationPanels(pl.Callback):
    """Every N epochs, fuse a few whole validation sections and publish raw | edge | fused | difference panels."""

    def __init__(self, every_n_epochs: int = 1, sections: int = 3) -> None:
        """Configure the panels (keys under `panels:` in the YAML config).

        Args:
            every_n_epochs: draw the panels and the per-section table every N epochs (0: never).
            sections: whole validation sections drawn (the same ones every time).
        """
        super().__init__()
        self.every_n_epochs = every_n_epochs
        self.sections = sections

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        every = self.every_n_epochs
        if trainer.sanity_checking or not trainer.is_global_zero or every <= 0 or trainer.current_epoch % every:
            return
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "panels") or self.sections <= 0:
            return
        edge_kind = pl_module.branch_settings.pipeline.output
        images, captions, rows = [], [], []
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            for name, raw, edge in dm.panels(self.sections):
                r = torch.from_numpy(raw)[None, None].to(pl_module.device)
                e = torch.from_numpy(edge)[None, None].to(pl_module.device)
                fused = pl_module(r, e)[0, 0].float().cpu().numpy()
                scores = validation_metrics(fused, raw, edge)
                rows.append([name, trainer.current_epoch] + [round(v, 5) for v in scores.values()])
                fig = render([Panel("raw", raw), Panel("edge", edge, edge_kind), Panel("fused", fused),
                              Panel("fused - raw", fused - raw, DIFFERENCE)],
                             Extent("trace", 0, raw.shape[1], "sample", 0, raw.shape[0]),
                             f"{name} | epoch {trainer.current_epoch} | Qabf {scores['qabf']:.3f}",
                             panel_width_in=3.0, height_in=3.5, dpi=80)
                images.append(to_rgb(fig))
                captions.append(name)
        pl_module.train(was_training)
        if images:
            self._publish(trainer, images, captions, rows)

    @staticmethod
    def _publish(trainer: pl.Trainer, images: list[np.ndarray], captions: list[str], rows: list[list[Any]]) -> None:
        """Send panels and the table to W&B, or write PNG and CSV files into the logger's folder."""
        logger = trainer.logger
        if isinstance(logger, WandbLogger):
            logger.log_image(key="val/panels", images=images, caption=captions, step=trainer.global_step)
            logger.log_table(key="val/sections", columns=TABLE_COLUMNS, data=rows, step=trainer.global_step)
            return
        folder = Path(logger.log_dir if logger is not None and logger.log_dir else trainer.default_root_dir) / "panels"
        folder.mkdir(parents=True, exist_ok=True)
        from matplotlib.image import imsave

        for img, cap in zip(images, captions, strict=True):
            imsave(folder / f"epoch{trainer.current_epoch:03d}_{cap.replace(' ', '_')}.png", img)
        table = folder / "sections.csv"
        new = not table.exists()
        with open(table, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(TABLE_COLUMNS)
            w.writerows(rows)


class RunSummary(pl.Callback):
    """On a W&B run: define how each validation metric is summarised, and record the data's facts (rank zero)."""

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or not isinstance(trainer.logger, WandbLogger):
            return
        run = trainer.logger.experiment
        for key, summary in SUMMARIES.items():
            run.define_metric(key, summary=summary)
        dm = trainer.datamodule
        if dm is not None and hasattr(dm, "state_info"):
            run.config.update({"data_info": dm.state_info()}, allow_val_change=True)


class PlainProgress(pl.Callback):
    """Progress as plain lines (for logs that are not a terminal, e.g. SLURM .out files): every N steps, each epoch."""

    def __init__(self, every_n_steps: int = 50) -> None:
        super().__init__()
        self.every_n_steps = max(1, every_n_steps)
        self._since = 0.0
        self._steps = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        import time

        self._since, self._steps = time.perf_counter(), 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        import time

        self._steps += 1
        if not trainer.is_global_zero or trainer.global_step % self.every_n_steps:
            return
        loss = trainer.callback_metrics.get("train/loss")
        rate = self._steps / max(time.perf_counter() - self._since, 1e-9)
        total = int(trainer.estimated_stepping_batches) if trainer.max_steps != 0 else 0
        print(f"epoch {trainer.current_epoch} step {trainer.global_step}/{total}"
              + (f" train/loss {float(loss):.4f}" if loss is not None else "") + f" ({rate:.2f} steps/s)", flush=True)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        shown = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/") and v.numel() == 1}
        if shown:
            print(f"epoch {trainer.current_epoch} " + " ".join(f"{k} {v:.4f}" for k, v in sorted(shown.items())),
                  flush=True)
