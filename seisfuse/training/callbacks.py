"""Training extras as Lightning callbacks: validation panels with a per-section table (and, on real sections, the
reference-free checks: removed noise and its leakage), the W&B run summary, learning rates, a checkpoint on SIGTERM.

The panels go to W&B as images and a table when the logger is W&B, else into the
logger's folder as PNG files and `sections.csv` (the CSV logger's folder, or the run folder).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import WandbLogger

from seisfuse.edges import MAGNITUDE
from seisfuse.evaluation.metrics import validation_metrics
from seisfuse.evaluation.qc import local_similarity
from seisfuse.evaluation.viz import DIFFERENCE, Extent, Panel, render, to_rgb
from seisfuse.inference.fusers import module_fuser

#: W&B summary of each validation metric: what the best run looks like.
SUMMARIES = {"val/score": "max", "val/loss": "min", "val/qabf": "max", "val/mi": "max", "val/en": "max", "val/ssim_raw": "max",
             "val/ssim_edge": "max", "val/ssim_clean": "max", "val/psnr_clean": "max"}
TABLE_COLUMNS = ["section", "epoch", "qabf", "mi", "en", "ssim_raw", "ssim_edge", "leakage", "removed_energy"]


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
        fuser = module_fuser(pl_module.net, pl_module.branch_settings)
        leakages = []
        for name, stack, axes in dm.panels(self.sections):
            raw = stack[0]
            edge = pl_module.branch_settings.pipeline(raw)  # the edge branch, whether or not the network fuses it
            fused = fuser.fuse_stack(stack)
            scores = validation_metrics(fused, raw, edge)
            panels = [Panel("raw", raw), Panel("edge", edge, edge_kind), Panel("fused", fused),
                      Panel("removed (raw - fused)", raw - fused, DIFFERENCE)]
            qc = {"leakage": float("nan"), "removed_energy": float("nan")}
            if not name.startswith("synthetic"):  # a real section: the reference-free checks (qc.py)
                similarity = local_similarity(raw - fused, fused - 0.5)
                qc = {"leakage": float(similarity.mean()),
                      "removed_energy": float(((raw - fused) ** 2).sum() / max(((raw - 0.5) ** 2).sum(), 1e-12))}
                panels.append(Panel("leakage (local similarity)", similarity, MAGNITUDE))
                leakages.append(qc["leakage"])
            rows.append([name, trainer.current_epoch] + [round(v, 5) for v in (*scores.values(), *qc.values())])
            fig = render(panels, Extent(**axes),
                         f"{name} | epoch {trainer.current_epoch} | Qabf {scores['qabf']:.3f}"
                         + (f" | leakage {qc['leakage']:.3f}" if np.isfinite(qc["leakage"]) else ""),
                         panel_width_in=3.0, height_in=3.5, dpi=80)
            images.append(to_rgb(fig))
            captions.append(name)
        pl_module.train(was_training)
        if leakages:
            pl_module.log("val/leakage", float(np.mean(leakages)), rank_zero_only=True)
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
        left = (total - trainer.global_step) / rate if 0 < trainer.global_step < total else 0.0
        eta = f", ETA {int(left // 3600)}:{int(left % 3600 // 60):02d}:{int(left % 60):02d}" if left else ""
        print(f"epoch {trainer.current_epoch} step {trainer.global_step}/{total}"
              + (f" train/loss {float(loss):.4f}" if loss is not None else "") + f" ({rate:.2f} steps/s{eta})",
              flush=True)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        shown = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/") and v.numel() == 1}
        if shown:
            print(f"epoch {trainer.current_epoch} " + " ".join(f"{k} {v:.4f}" for k, v in sorted(shown.items())),
                  flush=True)


class LearningRates(LearningRateMonitor):
    """Lightning's LearningRateMonitor (the rate of each optimizer group), quiet when the run has no logger."""

    def on_train_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._silent = not trainer.loggers
        if not self._silent:
            super().on_train_start(trainer, *args, **kwargs)

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if not getattr(self, "_silent", False):
            super().on_train_batch_start(trainer, *args, **kwargs)

    def on_train_epoch_start(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if not getattr(self, "_silent", False):
            super().on_train_epoch_start(trainer, *args, **kwargs)


class SaveOnTerminate(pl.Callback):
    """On SIGTERM (SLURM's scancel, a time limit), save an HPC checkpoint that the requeued job resumes from."""

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        if isinstance(exception, SIGTERMException) and trainer.state.fn == "fit":
            from seisfuse.training.checkpoints import hpc_checkpoint_path

            path = hpc_checkpoint_path(trainer.default_root_dir)
            trainer.save_checkpoint(path)
            if trainer.is_global_zero:
                logging.getLogger("seisfuse").warning("SIGTERM at epoch %d, step %d: saved %s; a requeued job "
                                                      "resumes from it", trainer.current_epoch, trainer.global_step, path)


class EndOfRunBenchmark(pl.Callback):
    """After fit, score the best checkpoint against the truth and publish it with the run (keys under `benchmark:`).

    Held-out synthetic surveys (clean volumes as references; `seisfuse.evaluation.benchmark.HELD_OUT`) and the semi-real
    protocol over real lines (seeded noise, the original line as reference), with the noisy input, every installed
    classical denoiser (BM3D and f-x deconvolution included) and the oracles as rows. Written to RUN/benchmark.json;
    on W&B also a Table (one row per case and row) and run-summary figures: the means and the number of cases the
    model wins against each row (so W&B's runs table sorts experiments by them).
    """

    def __init__(self, enabled: bool = True, surveys: list[str] | None = None, sections: int = 8,
                 real_files: list[str] | None = None, noise: list[str] | None = None, ratios: list[float] | None = None,
                 classical: list[str] | None = None, oracle: bool = True) -> None:
        """Configure the end-of-run benchmark (its budget for small runs: fewer surveys, sections and rows).

        Args:
            enabled: run it at the end of `fit`.
            surveys: names of the held-out synthetic surveys (seisfuse.evaluation.benchmark.HELD_OUT; default all).
            sections: inlines scored per survey.
            real_files: real lines (files or patterns) for the semi-real protocol; patterns that match nothing are
                skipped with a note.
            noise: noise kinds of the semi-real protocol (default white and band).
            ratios: noise RMS / signal RMS of the semi-real protocol (default 0.5).
            classical: classical denoisers scored as rows (default every installed one).
            oracle: also the oracle rows (grids searched on the scored data, BM3D given the true noise).
        """
        super().__init__()
        self.enabled, self.surveys, self.sections = enabled, surveys, sections
        self.real_files, self.noise, self.ratios = real_files or [], noise or ["white", "band"], ratios or [0.5]
        self.classical, self.oracle = classical, oracle

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        import glob
        import json
        import tempfile

        from seisfuse.evaluation import benchmark
        from seisfuse.files import atomic_output
        from seisfuse.inference.fusers import load_fuser

        ckpt = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback is not None else ""
        fuser = load_fuser(ckpt) if ckpt else module_fuser(pl_module.net.eval(), pl_module.branch_settings)
        grids = benchmark.ORACLE_GRIDS if self.oracle else ()
        surveys = {k: v for k, v in benchmark.HELD_OUT.items() if self.surveys is None or k in self.surveys}
        real = sorted({p for pattern in self.real_files for p in glob.glob(pattern)})
        missing = [p for p in self.real_files if not glob.glob(p)]
        if missing:
            logging.getLogger("seisfuse").warning("benchmark: no real lines at %s; semi-real cases skipped",
                                                  ", ".join(missing))
        with tempfile.TemporaryDirectory(prefix="seisfuse-run-benchmark-") as tmp:
            cases = benchmark.held_out(fuser, tmp, surveys, sections=self.sections, oracle=grids,
                                       true_noise=self.oracle, classical=self.classical)
            if real:
                cases += benchmark.semi_real(fuser, real, Path(tmp) / "real", kinds=tuple(self.noise),
                                             ratios=self.ratios, oracle=grids, true_noise=self.oracle)
        result = benchmark.as_dict(cases)
        result["checkpoint"] = ckpt or "the trained weights in memory"
        result["summary"] = benchmark.summary(cases)
        with atomic_output(Path(trainer.default_root_dir) / "benchmark.json") as out:
            out.write_text(json.dumps(result, indent=2, default=float))
        self._publish(trainer, cases, result["summary"])

    @staticmethod
    def _publish(trainer: pl.Trainer, cases: list[Any], summary: dict[str, float]) -> None:
        """A W&B Table of every case and row, and the summary figures in the run summary."""
        logger = trainer.logger
        if not isinstance(logger, WandbLogger):
            return
        columns = ["case", "noise", "ratio", "row", "SSIM", "PSNR", "SNR", "fault_contrast", "seconds"]
        rows = [[c.file, c.noise, c.ratio, name, *(r.get(k, float("nan")) for k in columns[4:])]
                for c in cases for name, r in c.rows.items()]
        logger.log_table(key="benchmark/cases", columns=columns, data=rows)
        logger.experiment.summary.update({f"benchmark/{k}": v for k, v in summary.items()})
