"""`seisfuse export`: a weights-only model file from a checkpoint, optionally logged as a W&B model artifact."""

from __future__ import annotations

import argparse
from pathlib import Path

from seisfuse.errors import SeisfuseError


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


def run(args: argparse.Namespace) -> int:
    from seisfuse.files import check_output
    from seisfuse.inference.weights import export

    ckpt = Path(args.checkpoint)
    check_output(args.output, [ckpt], force=args.force)
    model = export(ckpt, args.output)
    size = Path(args.output).stat().st_size
    print(f"wrote {args.output}: {model.name} weights, {size / 1e6:.2f} MB, {model.branches.describe()}")
    if args.no_wandb:
        return 0
    from seisfuse.training.tracking import log_export

    try:
        logged = log_export(ckpt, Path(args.output), model, artifact=args.artifact, always=args.wandb)
    except Exception as exc:  # noqa: BLE001 - W&B fails in its own words (no login, no network)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SeisfuseError(f"{args.output} was written, but W&B could not log it as an artifact ({first}); log in with "
                            "`wandb login`, or set WANDB_MODE=offline to record it for `wandb sync`, or pass --no-wandb") \
            from None
    if logged:
        print(f"logged W&B model artifact {logged[0]} (job type export, group {logged[1]})")
    return 0
