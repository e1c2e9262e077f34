"""`seisfuse fit | validate | test`: LightningCLI over FusionModule and SeismicDataModule.

Configs are YAML (`--config`, repeatable: later files override earlier ones) with
`--section.key=value` overrides, as W&B sweeps pass them. Besides Lightning's keys:

* `experiment` names the run family: the W&B group and the run folder
  `runs/<experiment>/<SLURM job id or timestamp>` (set `trainer.default_root_dir` to choose).
* `data.edges` and `data.clip_percentile` (as `model.branches`) and `data.patch_size` are
  linked into the model, so the checkpoint carries what inference needs.
* `panels` configures the validation panels callback (`seisfuse.callbacks.ValidationPanels`).
* Resuming: `--ckpt_path RUN/checkpoints/last.ckpt` continues in that run folder (and the
  same W&B run); under SLURM a requeued job resumes from Lightning's HPC checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentError, Namespace
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from seisfuse.branches import BranchSettings
from seisfuse.callbacks import RunSummary, ValidationPanels
from seisfuse.data import SeismicDataModule
from seisfuse.errors import ConfigError, config_error_line
from seisfuse.module import FusionModule
from seisfuse.tracking import RUN_DIR_ENV, SaveConfigToRun


def default_run_dir(experiment: str, ckpt_path: str | None, subcommand: str = "fit") -> str:
    """The run folder: runs/<experiment>/<SLURM job or timestamp>[-<sweep trial>], or (fit) the checkpoint's run.

    validate and test write their own folder (<subcommand>-<job or timestamp>), never the training run's;
    each trial of a W&B sweep agent gets its own folder, also when several trials share one SLURM job.
    """
    if os.environ.get(RUN_DIR_ENV):  # set by the first process: DDP ranks launched later agree with it
        return os.environ[RUN_DIR_ENV]
    stamp = os.environ.get("SLURM_JOB_ID") or time.strftime("%Y%m%d-%H%M%S")
    if subcommand != "fit":
        return str(Path("runs") / experiment / f"{subcommand}-{stamp}")
    if ckpt_path and ckpt_path not in ("last", "best", "hpc"):
        ckpt = Path(ckpt_path)
        if ckpt.parent.name == "checkpoints":
            return str(ckpt.parent.parent)
    trial = os.environ.get("WANDB_RUN_ID") if os.environ.get("WANDB_SWEEP_ID") else None
    return str(Path("runs") / experiment / (f"{stamp}-{trial}" if trial else stamp))


def _branches(edges: list[dict[str, Any]], clip_percentile: float) -> dict[str, Any]:
    """model.branches from data.edges and data.clip_percentile (BranchSettings.to_dict form)."""
    return {"edges": edges, "clip_percentile": clip_percentile}


def _init_args(node: Any) -> Any:
    """init_args of a class_path node of a jsonargparse config, or None."""
    return getattr(node, "init_args", None) if hasattr(node, "class_path") else None


class SeisfuseCLI(LightningCLI):
    """LightningCLI with the experiment name, linked data settings and a fixed run folder."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--experiment", default="default",
                            help="experiment name: W&B group and run folder runs/<experiment>/...")
        parser.link_arguments(("data.edges", "data.clip_percentile"), "model.branches", compute_fn=_branches)
        parser.link_arguments("data.patch_size", "model.patch_size")
        parser.add_lightning_class_args(ValidationPanels, "panels")

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        trainer = super().instantiate_trainer(**kwargs)
        trainer.callbacks.append(RunSummary())
        return trainer

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        with config_errors():  # a value that fails validation while parsing
            super().parse_arguments(parser, args)

    def instantiate_classes(self) -> None:
        with config_errors():  # settings the model or data classes reject
            super().instantiate_classes()

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        trainer = cfg.trainer
        root = trainer.default_root_dir or default_run_dir(cfg.experiment, cfg.get("ckpt_path"), self.subcommand or "fit")
        trainer.default_root_dir = root
        os.environ[RUN_DIR_ENV] = str(root)
        Path(root).mkdir(parents=True, exist_ok=True)
        loggers = trainer.logger if isinstance(trainer.logger, list) else [trainer.logger]
        for logger in loggers:
            args = _init_args(logger)
            if args is not None and "group" in args and args.group is None:
                args.group = cfg.experiment
            if args is not None and "job_type" in args and self.subcommand in ("validate", "test"):
                args.job_type = self.subcommand  # an evaluation run of its own, not the training run
        if trainer.enable_progress_bar is not False and not sys.stderr.isatty():  # logs, not a terminal
            trainer.enable_progress_bar = False
            trainer.callbacks = [*(trainer.callbacks or []), Namespace(
                class_path="seisfuse.callbacks.PlainProgress",
                init_args=Namespace(every_n_steps=trainer.log_every_n_steps or 50))]
        for callback in trainer.callbacks or []:
            args = _init_args(callback)
            if str(getattr(callback, "class_path", "")).endswith("ModelCheckpoint") and args.dirpath is None:
                args.dirpath = str(Path(root) / "checkpoints")


def run_lightning_cli(args: list[str], debug: bool = False) -> int:
    """Run a LightningCLI subcommand; returns the exit code."""
    # from the console script, let LightningCLI read sys.argv itself (DDP re-launches ranks with sys.argv)
    from_console = list(sys.argv[1:]) == list(args)
    try:
        SeisfuseCLI(
            FusionModule,
            SeismicDataModule,
            args=None if from_console else args,
            save_config_callback=SaveConfigToRun,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"parser_mode": "yaml", "exit_on_error": False},
            auto_configure_optimizers=False,
        )
    except ArgumentError as exc:
        raise ConfigError(f"config: {config_error_line(str(exc))}") from None
    finally:
        _finish_wandb()
    return 0


class _ConfigReader(SeisfuseCLI):
    """The fit command's parser (configs, overrides, links), parsing only: no run folder, no classes built."""

    def _set_seed(self) -> None:  # reading a config must not reseed the caller's process
        pass

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass


def branch_settings_from_config(configs: list[str], overrides: list[str] = ()) -> BranchSettings:
    """The branch settings (data.edges, data.clip_percentile) of training configs plus --data.key=value overrides."""
    # data.train_files is required by fit, not here: a config holding only data.edges is fine
    args = ["--data.train_files=[]"] + [a for c in configs for a in ("--config", str(c))] + list(overrides)
    where = ", ".join(map(str, configs)) or "config"
    try:
        reader = _ConfigReader(FusionModule, SeismicDataModule, run=False, args=args, save_config_callback=None,
                               parser_kwargs={"parser_mode": "yaml", "exit_on_error": False},
                               auto_configure_optimizers=False)
    except ArgumentError as exc:
        raise ConfigError(f"{where}: {config_error_line(str(exc))}") from None
    data = reader.config.data
    try:
        return BranchSettings(edges=list(data.edges), clip_percentile=data.clip_percentile)
    except ValueError as exc:
        raise ConfigError(f"{where}: data.{exc}") from None


@contextlib.contextmanager
def config_errors() -> Iterator[None]:
    """Turn ValueError / TypeError from parsing or building the classes into one-line ConfigErrors."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"config: {config_error_line(str(exc))}") from None


def _finish_wandb() -> None:
    """Close a W&B run left open (flushes offline runs; a later fit in this process must not reuse it)."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        wandb.finish()
