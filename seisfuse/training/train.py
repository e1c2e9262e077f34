"""`seisfuse fit | validate | test`: LightningCLI over FusionModule and SeismicDataModule.

Configs are YAML (`--config`, repeatable: later files override earlier ones) with
`--section.key=value` overrides, as W&B sweeps pass them. Besides Lightning's keys:

* `experiment` names the run family: the W&B group and the run folder
  `runs/<experiment>/<SLURM job id or timestamp>` (set `trainer.default_root_dir` to choose).
* `data.edges` and `data.clip_percentile` (as `model.branches`) and `data.patch_size` are
  linked into the model, so the checkpoint carries what inference needs.
* `panels` configures the validation panels callback (`seisfuse.training.callbacks.ValidationPanels`), `benchmark` the
  end-of-run benchmark against the truth (`seisfuse.training.callbacks.EndOfRunBenchmark`).
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
from lightning.pytorch.utilities.exceptions import SIGTERMException

from seisfuse.branches import DEFAULT_BRANCHES
from seisfuse.config import check_rules, read_yaml
from seisfuse.data import SeismicDataModule
from seisfuse.errors import EXIT_TERMINATED, ConfigError, SettingError, config_error_line, print_error
from seisfuse.training.callbacks import EndOfRunBenchmark, RunSummary, SaveOnTerminate, ValidationPanels
from seisfuse.training.checkpoints import AtomicCheckpointIO, check_resumable, run_folder_of
from seisfuse.training.module import FusionModule
from seisfuse.training.tracking import CONFIG_FILE, RUN_DIR_ENV, SaveConfigToRun


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
        folder = run_folder_of(ckpt_path)
        if Path(ckpt_path).parent.name == "checkpoints" or (folder / CONFIG_FILE).is_file():
            return str(folder)  # resuming continues the same run: one history, one W&B run
    trial = os.environ.get("WANDB_RUN_ID") if os.environ.get("WANDB_SWEEP_ID") else None
    return str(Path("runs") / experiment / (f"{stamp}-{trial}" if trial else stamp))


def _branches(branches: list[str] | None, edges: list[dict[str, Any]], clip_percentile: float) -> dict[str, Any]:
    """model.branches from data.branches, data.edges and data.clip_percentile (BranchSettings.to_dict form)."""
    return {"edges": edges, "clip_percentile": clip_percentile, "branches": list(branches or DEFAULT_BRANCHES)}


def _init_args(node: Any) -> Any:
    """init_args of a class_path node of a jsonargparse config, or None."""
    return getattr(node, "init_args", None) if hasattr(node, "class_path") else None


class SeisfuseCLI(LightningCLI):
    """LightningCLI with the experiment name, linked data settings and a fixed run folder."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--experiment", default="default",
                            help="experiment name: W&B group and run folder runs/<experiment>/...")
        parser.link_arguments(("data.branches", "data.edges", "data.clip_percentile"), "model.branches",
                              compute_fn=_branches)
        parser.link_arguments("data.patch_size", "model.patch_size")
        parser.add_lightning_class_args(ValidationPanels, "panels")
        parser.add_lightning_class_args(EndOfRunBenchmark, "benchmark")

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        trainer = super().instantiate_trainer(**kwargs)
        trainer.callbacks += [RunSummary(), SaveOnTerminate()]
        trainer.strategy.checkpoint_io = AtomicCheckpointIO()  # a kill while saving leaves no truncated checkpoint
        return trainer

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        with config_errors():  # a value that fails validation while parsing
            super().parse_arguments(parser, args)

    def instantiate_classes(self) -> None:
        with config_errors():  # settings the model or data classes reject
            super().instantiate_classes()

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand] if self.subcommand else self.config
        _check_settings(cfg)
        check_rules(cfg, _resolve_init_weights(cfg))
        trainer = cfg.trainer
        root = trainer.default_root_dir or default_run_dir(cfg.experiment, cfg.get("ckpt_path"), self.subcommand or "fit")
        trainer.default_root_dir = root
        os.environ[RUN_DIR_ENV] = str(root)
        if not Path(root).exists():
            CREATED.append(Path(root))  # removed again if the fit fails before it saves anything
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
                class_path="seisfuse.training.callbacks.PlainProgress",
                init_args=Namespace(every_n_steps=trainer.log_every_n_steps or 50))]
        for callback in trainer.callbacks or []:
            args = _init_args(callback)
            if str(getattr(callback, "class_path", "")).endswith("ModelCheckpoint") and args.dirpath is None:
                args.dirpath = str(Path(root) / "checkpoints")


def _checked_ckpt_path(args: list[str]) -> list[str]:
    """args with --ckpt_path read weights-only by seisfuse before LightningCLI reads its hyperparameters (at the
    lowest supported torch, LightningCLI's own read would unpickle code); a truncated or unreadable file is
    replaced by the newest intact checkpoint of its run folder, with a note."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--ckpt_path" and i + 1 < len(out):
            key, value = i + 1, out[i + 1]
        elif arg.startswith("--ckpt_path="):
            key, value = i, arg.split("=", 1)[1]
        else:
            continue
        if value and value not in ("last", "best", "hpc", "null", "None"):
            resolved = str(check_resumable(value))
            out[key] = resolved if key != i else f"--ckpt_path={resolved}"
    return out


def _check_settings(cfg: Namespace) -> None:
    """Settings that the classes would only reject later, in another library's words."""
    trainer = cfg.trainer
    if str(trainer.accelerator) in ("gpu", "cuda") and not _cuda_available():
        raise SettingError("trainer.accelerator", f"{trainer.accelerator}: this machine has no GPU; use "
                           "--trainer.accelerator=cpu --trainer.precision=32 (or configs/demo.yaml)")
    for key in ("max_epochs", "max_steps"):
        value = trainer.get(key)
        if value is not None and value < -1:
            raise SettingError(f"trainer.{key}", f"must be >= -1 (-1: no limit), got {value}")
    optimizer = cfg.model.get("optimizer")
    lr = _init_args(optimizer).get("lr") if _init_args(optimizer) is not None else None
    if lr is not None and not lr > 0:
        raise SettingError("model.optimizer.init_args.lr", f"must be > 0, got {lr}")


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def check_config_files(args: list[str]) -> None:
    """Every --config file of a command line: readable, not too big, no alias bomb (checked before parsing)."""
    for i, arg in enumerate(args):
        path = args[i + 1] if arg == "--config" and i + 1 < len(args) else arg[len("--config="):] \
            if arg.startswith("--config=") else None
        if path and Path(path).is_file():
            read_yaml(path)


def _resolve_init_weights(cfg: Namespace) -> Any:
    """The model file of a fine-tune (model.init_weights), whose architecture the run takes; None without one, and
    for a resumed run (--ckpt_path), which holds its weights already and reads no init file."""
    model = cfg.model
    if not model.init_weights:
        return None
    if cfg.get("ckpt_path"):
        model.init_weights = None
        return None
    from seisfuse.inference.weights import load_model_file

    start = load_model_file(model.init_weights)
    model.net = dict(start.net)
    return start


#: Run folders this process created; a failed fit removes those that hold no checkpoint (no stubs left behind).
CREATED: list[Path] = []


def _remove_stub_runs() -> None:
    """Remove the run folders this process created that hold no checkpoint (the fit failed before saving one)."""
    import shutil

    while CREATED:
        folder = CREATED.pop()
        if folder.is_dir() and not any(folder.rglob("*.ckpt")):
            shutil.rmtree(folder, ignore_errors=True)


def run_lightning_cli(args: list[str], debug: bool = False) -> int:
    """Run a LightningCLI subcommand; returns the exit code."""
    # from the console script, let LightningCLI read sys.argv itself (DDP re-launches ranks with sys.argv)
    from_console = list(sys.argv[1:]) == list(args)
    check_config_files(args)
    args = _checked_ckpt_path(args)
    if from_console:  # DDP launches its other ranks with sys.argv: they resume from the same checkpoint
        sys.argv[1:] = args
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
    except SIGTERMException:  # SaveOnTerminate has saved (and noted) the checkpoint a requeued job resumes from
        print_error("terminated (SIGTERM)")
        return EXIT_TERMINATED
    except BaseException:
        _finish_wandb()
        _remove_stub_runs()
        raise
    finally:
        _finish_wandb()
    CREATED.clear()
    return 0


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
