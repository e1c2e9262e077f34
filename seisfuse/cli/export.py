"""`seisfuse export`: a weights-only model file from a checkpoint, optionally logged as a W&B model artifact."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add(sub) -> None:
    p = sub.add_parser("export", help="write a weights-only model file from a checkpoint (and log it to W&B)",
                       description="Write the weights-only file of a training checkpoint: the network configuration, "
                                   "its weights and the branch settings, loadable without pickle "
                                   "(torch.load(weights_only=True)) by predict --ckpt, preview and the Python API. "
                                   "When the checkpoint's run folder holds a W&B run (or with --wandb), the file is "
                                   "also logged as a W&B model artifact with the run's config and validation metrics "
                                   "as metadata (offline runs record it for `wandb sync`).")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("output", metavar="OUT.pt")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    w = p.add_mutually_exclusive_group()
    w.add_argument("--wandb", action="store_true", help="log the artifact even without a W&B run in the run folder")
    w.add_argument("--no-wandb", action="store_true", help="never log a W&B artifact")
    p.add_argument("--artifact", default=None, metavar="NAME", help="artifact name (default: model-<experiment>)")
    p.set_defaults(func=run)


def _run_folder(checkpoint: Path) -> Path | None:
    """The training run folder of a checkpoint in RUN/checkpoints/, if any."""
    return checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else None


def run(args: argparse.Namespace) -> int:
    from seisfuse.files import check_output
    from seisfuse.weights import export

    ckpt = Path(args.checkpoint)
    check_output(args.output, [ckpt], force=args.force)
    model = export(ckpt, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output}: {model.name} weights, {size / 1e6:.2f} MB, edges {model.branches.pipeline.describe()}")
    folder = _run_folder(ckpt.resolve())
    has_run = folder is not None and (folder / "wandb_run_id").exists()
    if args.no_wandb or os.environ.get("WANDB_MODE", "").lower() == "disabled" or not (args.wandb or has_run):
        return 0
    import yaml

    from seisfuse.tracking import log_model_artifact

    config = yaml.safe_load((folder / "config.yaml").read_text()) if folder and (folder / "config.yaml").exists() else {}
    experiment = (config or {}).get("experiment") or (folder.parent.name if folder else "seisfuse")
    project = (((config or {}).get("trainer") or {}).get("logger") or {})
    project = project.get("init_args", {}).get("project") if isinstance(project, dict) else None
    metadata = {"config": config or {}, "metrics": model.meta.get("metrics", {}), "epoch": model.meta.get("epoch"),
                "global_step": model.meta.get("global_step"), "seisfuse_version": model.meta.get("seisfuse_version"),
                "net": model.net, "branches": model.branches.to_dict(), "source": ckpt.name}
    name = log_model_artifact(Path(args.output), args.artifact or f"model-{experiment}", metadata, run_folder=folder,
                              project=project, group=experiment)
    print(f"logged W&B model artifact {name} (job type export, group {experiment})")
    return 0
