"""Experiment tracking: W&B and CSV loggers that live in the run folder, and the config pushed to the run.

The run folder (`SEISFUSE_RUN_DIR`, set by `seisfuse fit`) holds the resolved config, the
checkpoints and the logs. The W&B run id is pinned: taken from `WANDB_RUN_ID` (sweeps),
else `slurm-$SLURM_JOB_ID`, else read from (or written to) `wandb_run_id` in the run
folder, so a requeued or resumed job continues the same W&B run.
"""

from __future__ import annotations

import csv
import os
import secrets
import string
from pathlib import Path
from typing import Any

from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger as _LightningCSV
from lightning.pytorch.loggers import WandbLogger as _LightningWandb
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from seisfuse.inference.ranks import is_global_zero

RUN_DIR_ENV = "SEISFUSE_RUN_DIR"
RUN_ID_FILE = "wandb_run_id"
CONFIG_FILE = "config.yaml"  # what LightningCLI's SaveConfigCallback writes into the run folder


def run_dir() -> Path:
    """The current run folder (from SEISFUSE_RUN_DIR; 'runs' outside `seisfuse fit`)."""
    return Path(os.environ.get(RUN_DIR_ENV, "runs"))


def wandb_offline() -> bool:
    """True when W&B writes locally only (WANDB_MODE offline or disabled)."""
    return os.environ.get("WANDB_MODE", "").lower() in ("offline", "dryrun", "disabled")


def pinned_run_id(folder: Path) -> str:
    """The W&B run id of a run folder: WANDB_RUN_ID, slurm-<job>, or the id saved in the folder (created once)."""
    if os.environ.get("WANDB_RUN_ID"):
        return os.environ["WANDB_RUN_ID"]
    id_file = folder / RUN_ID_FILE
    if id_file.exists():
        return id_file.read_text().strip()
    job = os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID")
    if job:
        run_id = f"slurm-{os.environ['SLURM_ARRAY_JOB_ID']}-{os.environ['SLURM_ARRAY_TASK_ID']}"
    elif os.environ.get("SLURM_JOB_ID"):
        run_id = f"slurm-{os.environ['SLURM_JOB_ID']}"
    else:
        run_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    if is_global_zero():
        folder.mkdir(parents=True, exist_ok=True)
        id_file.write_text(run_id + "\n")
    return run_id


class WandbLogger(_LightningWandb):
    """Lightning's WandbLogger with seisfuse defaults: run folder, pinned id, project/entity from the environment."""

    def __init__(self, project: str | None = None, entity: str | None = None, group: str | None = None,
                 tags: list[str] | None = None, name: str | None = None, notes: str | None = None,
                 save_dir: str | None = None, log_model: bool | str = "auto", job_type: str = "train") -> None:
        """Configure the W&B run (keys under `trainer.logger.init_args`).

        Args:
            project: W&B project (default: $WANDB_PROJECT, else 'seisfuse').
            entity: W&B entity / team (default: $WANDB_ENTITY, else your default entity).
            group: run group (default: the experiment name), so ablations sit together.
            tags: run tags.
            name: run display name (default: W&B's).
            notes: free text shown with the run.
            save_dir: where the wandb/ folder goes (default: the run folder).
            log_model: upload checkpoints as artifacts: True, 'all', False, or 'auto' (only when online).
            job_type: W&B job type.
        """
        # absolute: W&B's service process may have started in another working directory
        folder = (Path(save_dir) if save_dir else run_dir()).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        if log_model == "auto":
            log_model = not wandb_offline()
        super().__init__(
            name=name, save_dir=str(folder), id=pinned_run_id(folder),
            project=project or os.environ.get("WANDB_PROJECT", "seisfuse"),
            entity=entity or os.environ.get("WANDB_ENTITY"), group=group, tags=tags, notes=notes,
            log_model=log_model, resume="allow", job_type=job_type,
        )
        if self._wandb_init.get("anonymous") is None:  # any value, None too, makes W&B warn that it is deprecated
            self._wandb_init.pop("anonymous", None)


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, which keeps the rows a resumed run already logged (Lightning's deletes the file)."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as fh:
                self.metrics_keys = next(csv.reader(fh), [])


class CSVLogger(_LightningCSV):
    """Lightning's CSVLogger writing metrics.csv into the run folder (for users without W&B); a resumed run appends
    to the history instead of replacing it."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        """The CSV writer (created on first use, keeping earlier rows)."""
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment

    def __init__(self, save_dir: str | None = None, name: str = "csv") -> None:
        """Configure the CSV log (keys under `trainer.logger.init_args`).

        Args:
            save_dir: parent folder of the log (default: the run folder).
            name: subfolder holding metrics.csv and hparams.yaml.
        """
        super().__init__(save_dir=save_dir or str(run_dir()), name=name, version="")


class SaveConfigToRun(SaveConfigCallback):
    """Save the resolved config as RUN/config.yaml (whatever the logger) and push it to the W&B run config."""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.already_saved:
            return
        if trainer.is_global_zero:
            path = Path(trainer.default_root_dir) / CONFIG_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            self.parser.save(self.config, str(path), skip_none=False, overwrite=True, multifile=self.multifile)
        self.already_saved = True
        self.save_config(trainer, pl_module, stage)

    def save_config(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if isinstance(trainer.logger, _LightningWandb) and trainer.is_global_zero:
            config = self.config.as_dict()
            config.pop("config", None)  # the list of config files is not a setting
            trainer.logger.experiment.config.update(config, allow_val_change=True)


def _reinit(version: str) -> bool | str:
    """W&B's value for "end any run this process has open first": 'finish_previous' since 0.19 (True is deprecated
    there), True before."""
    major, minor = (int(v) for v in version.split(".")[:2])
    return "finish_previous" if (major, minor) >= (0, 19) else True


def log_model_artifact(weights: Path, name: str, metadata: dict[str, Any], run_folder: Path | None = None,
                       project: str | None = None, group: str | None = None) -> str:
    """Log a weights file as a W&B model artifact, from a run of job type 'export' (offline runs record it too).

    Returns the artifact's name. The training run is left as it was: the export has its own run, in the
    training run's group and folder.
    """
    import wandb

    folder = (run_folder or run_dir()).resolve()
    run = wandb.init(project=project or os.environ.get("WANDB_PROJECT", "seisfuse"), entity=os.environ.get("WANDB_ENTITY"),
                     group=group, job_type="export", dir=str(folder), config=metadata.get("config") or {},
                     reinit=_reinit(wandb.__version__))
    try:
        artifact = wandb.Artifact(name, type="model", metadata=metadata)
        artifact.add_file(str(weights), name=weights.name)
        run.log_artifact(artifact)
    finally:
        run.finish()
    return name


def run_folder_of(checkpoint: Path) -> Path | None:
    """The training run folder of a checkpoint in RUN/checkpoints/, if any."""
    checkpoint = checkpoint.resolve()
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else None


def run_config(folder: Path | None) -> dict[str, Any]:
    """The resolved config a run folder holds ({} without one), read through the config guards."""
    from seisfuse.config import read_yaml

    path = folder / CONFIG_FILE if folder is not None else None
    loaded = read_yaml(path) if path is not None and path.exists() else None
    return loaded if isinstance(loaded, dict) else {}


def log_export(checkpoint: Path, weights: Path, model: Any, artifact: str | None = None,
               always: bool = False) -> tuple[str, str] | None:
    """Log an exported weights file as a W&B model artifact beside the checkpoint's training run, when that run used
    W&B (or always); returns (artifact name, group), or None when nothing was logged (W&B disabled, no run)."""
    folder = run_folder_of(checkpoint)
    has_run = folder is not None and (folder / RUN_ID_FILE).exists()
    if os.environ.get("WANDB_MODE", "").lower() == "disabled" or not (always or has_run):
        return None
    config = run_config(folder)
    experiment = config.get("experiment") or (folder.parent.name if folder else "seisfuse")
    logger = ((config.get("trainer") or {}).get("logger") or {})
    project = logger.get("init_args", {}).get("project") if isinstance(logger, dict) else None
    metadata = {"config": config, "metrics": model.meta.get("metrics", {}), "epoch": model.meta.get("epoch"),
                "global_step": model.meta.get("global_step"), "seisfuse_version": model.meta.get("seisfuse_version"),
                "net": model.net, "branches": model.branches.to_dict(), "source": checkpoint.name}
    name = log_model_artifact(weights, artifact or f"model-{experiment}", metadata, run_folder=folder,
                              project=project, group=experiment)
    return name, experiment
