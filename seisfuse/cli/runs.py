"""`seisfuse runs`: compare experiments from their run folders (no server needed), or from a W&B project."""

from __future__ import annotations

import argparse


def add(sub) -> None:
    p = sub.add_parser("runs", help="compare training runs: differing config keys and truth-referenced scores",
                       description="Read run folders (runs/<experiment>/<id>/: config.yaml, csv/metrics.csv, "
                                   "benchmark.json), print one table of runs with the config keys that differ between "
                                   "them and their scores against the truth, best val/score first (val/score: SSIM to "
                                   "the clean validation references), and optionally draw their validation curves and "
                                   "benchmark bars. With --wandb ENTITY/PROJECT, the same from W&B (needs a login).")
    p.add_argument("paths", nargs="*", default=["runs"], metavar="FOLDER",
                   help="run folders or folders holding them (default: runs)")
    p.add_argument("--wandb", default=None, metavar="ENTITY/PROJECT", help="read the runs of a W&B project instead")
    p.add_argument("--png", default=None, metavar="RUNS.png", help="also draw the curves and the benchmark bars")
    p.add_argument("--key", action="append", default=[], metavar="KEY",
                   help="a config key to show even if equal in every run (repeatable)")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seisfuse.errors import SeisfuseError, print_error
    from seisfuse.files import check_output
    from seisfuse.training import runs as lib

    broken: list[str] = []
    if args.wandb:
        if args.png:
            check_output(args.png, [], force=args.force)
        runs = lib.from_wandb(args.wandb)
    else:
        folders = lib.find_runs(args.paths)
        if args.png:  # never one of the files it reads, --force or not
            check_output(args.png, [f for folder in folders for f in lib.run_files(folder).values() if f],
                         force=args.force, first_is_input=False)
        runs, broken = lib.read_runs(folders)
        for line in broken:
            print_error(line)
        if not runs:
            raise SeisfuseError(f"none of the {len(folders)} run folders could be read")
    keys = list(dict.fromkeys([*lib.differing_keys(runs), *args.key]))
    print(f"{len(runs)} runs; ranked by best val/score (SSIM to clean validation references)")
    print(lib.table(runs, keys))
    if args.png:
        lib.plot(runs, args.png)
        print(f"wrote {args.png}")
    return 1 if broken else 0
