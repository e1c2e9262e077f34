"""`seisfuse predict` and `seisfuse baseline`: stream every section of one or many SEG-Y files into new SEG-Y files."""

from __future__ import annotations

import argparse
from pathlib import Path

from seisfuse.cli.common import add_config_args, add_header_args, add_model_arg, branch_settings, flag, header_bytes, model_reads
from seisfuse.errors import SettingError, file_error, print_error
from seisfuse.files import expand_paths
from seisfuse.inference.tiles import Tiling
from seisfuse.models.classical import method_names
from seisfuse.segy.grid import AXIS_CHOICES


def add_stream_args(p: argparse.ArgumentParser) -> None:
    """Options shared by predict and baseline: inputs, outputs, axis, batching, skipping."""
    p.add_argument("--input", required=True, nargs="+", metavar="IN.sgy",
                   help="one or more SEG-Y files (quoted glob patterns are expanded too)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--output", metavar="OUT.sgy", help="the output file (one input)")
    out.add_argument("--output-dir", metavar="DIR", help="folder for the outputs, named like their inputs (created if "
                                                        "missing)")
    p.add_argument("--axis", choices=list(AXIS_CHOICES), default="auto",
                   help="auto (default): inline sections of a 3D survey, along the line of a 2D line or of a single "
                        "inline/crossline of a 3D survey, per gather; or inline, crossline, or both averaged")
    p.add_argument("--batch-size", type=int, default=4, metavar="N", help="sections per forward pass (default 4)")
    p.add_argument("--num-workers", type=int, default=2, metavar="N",
                   help="processes reading and preparing sections (default 2)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--skip-existing", action="store_true",
                   help="leave existing outputs as they are and fuse the rest (a requeued job)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also show Lightning's messages (several ranks)")
    add_header_args(p)


def add(sub) -> None:
    p = sub.add_parser("predict", help="fuse SEG-Y files with a trained model (the shipped one by default)",
                       description="Fuse every section of one or many SEG-Y files with a trained network and write "
                                   "copies of the inputs with the fused samples (all headers kept; integer formats "
                                   "become IEEE float). Each input is normalized with its own statistics and its edge "
                                   "branch made as in training; outputs are in the input's amplitude units. A file "
                                   "that fails is reported and skipped; the exit code is 1 if any failed.")
    add_model_arg(p, "the model")
    add_stream_args(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--devices", type=int, default=1, metavar="N",
                   help="ranks on this node (GPUs); with several files, the files are split across ranks")
    p.add_argument("--num-nodes", type=int, default=1, metavar="N", help="nodes of a SLURM job (with --slurm)")
    p.add_argument("--slurm", action="store_true",
                   help="this process is one srun task of --devices x --num-nodes: SLURM's tasks are the ranks "
                        "(scripts/predict.sh passes it); without it, predict launches its own --devices ranks")
    p.add_argument("--precision", choices=["32", "bf16", "16"], default="32")
    p.add_argument("--tile", type=int, default=Tiling.tile, metavar="PX",
                   help=f"sections larger than this are fused in overlapping tiles (default {Tiling.tile})")
    p.add_argument("--overlap", type=int, default=Tiling.overlap, metavar="PX",
                   help=f"tile overlap (default {Tiling.overlap})")
    p.add_argument("--block-mb", type=int, default=128, metavar="MB",
                   help="crossline sections of inline-sorted files (and the reverse) are read in blocks this big, "
                        "one pass over the file per block (default 128)")
    p.set_defaults(func=run_predict)


def add_baseline(sub) -> None:
    p = sub.add_parser("baseline", help="a classical fusion rule or denoiser (gaussian, median, bilateral, fxdecon, "
                                        "bm3d, bm3d-psd)",
                       description="Process every section with a classical method through the same streaming path as "
                                   "predict. Fusion rules of the (raw, edge) pair: average, Laplacian pyramid (max-abs "
                                   "details) or wavelet (max-abs details); the edge branch comes from --config's "
                                   "data.edges (default pipeline). Denoisers of the raw section: gaussian, median, "
                                   "bilateral (one OpenCV call each), fxdecon (f-x deconvolution, forward-backward "
                                   "prediction in overlapping windows), bm3d (BM3D with the white-noise sigma estimated "
                                   "per section) and bm3d-psd (BM3D with the noise spectrum estimated per section from "
                                   "adjacent-trace differences; both need pip install 'seisfuse[baselines]', licence: "
                                   "non-commercial use), with parameters tuned on synthetic training data "
                                   "(scripts/bench/tune_classical.py) unless --param sets them.")
    p.add_argument("--method", required=True, choices=list(method_names()))
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a method parameter, e.g. sigma=1.5, size=5, diameter=7, sigma_color=0.2, sigma_space=3, "
                        "length=4, window_traces=32, window_samples=128, mu=1, sigma_scale=1.2")
    add_config_args(p)
    add_stream_args(p)
    p.set_defaults(func=run_baseline, accepts_overrides=True)


def jobs_from(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(input, output) pairs from --input and --output / --output-dir."""
    inputs = expand_paths(args.input, "input")
    if args.output is not None:
        if len(inputs) != 1:
            raise SettingError("output", f"names one file, but {len(inputs)} inputs were given; use --output-dir")
        return [(inputs[0], args.output)]
    folder = Path(args.output_dir)
    if folder.exists() and not folder.is_dir():
        raise file_error(folder, "--output-dir is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error(folder, f"cannot create the output folder ({exc.strerror or exc})") from None
    return [(i, str(folder / Path(i).name)) for i in inputs]


def file_line(res) -> str:
    """One console line for a written or skipped file."""
    if res.status == "skipped":
        return f"skipped {res.output}: exists (--skip-existing)"
    rate = res.sections / res.seconds if res.seconds > 0 else float("inf")
    return (f"wrote {res.output}: {res.sections} sections ({' + '.join(res.axes)}) in {res.seconds:.1f} s, "
            f"{rate:.1f} sections/s; input clip {res.clip:.4g}")


def options_of(args: argparse.Namespace):
    """PredictOptions from the parsed flags."""
    from seisfuse.inference.predict import PredictOptions

    tiling = Tiling(args.tile, args.overlap) if hasattr(args, "tile") else Tiling()
    return PredictOptions(axis=args.axis, batch_size=args.batch_size, num_workers=args.num_workers, force=args.force,
                          skip_existing=args.skip_existing, header_bytes=header_bytes(args), tiling=tiling,
                          **{k: getattr(args, k) for k in ("precision", "block_mb") if hasattr(args, k)})


def check_jobs(jobs: list[tuple[str, str]], options, reads: list) -> None:  # noqa: ANN001 - PredictOptions
    """Before any model is loaded: a single input that cannot be fused, or a batch none of whose inputs can, is an
    error now (a missing file, a folder, not SEG-Y, an existing output); a batch's bad files are reported with it."""
    from seisfuse.inference.predict import precheck

    problems = precheck(jobs, options, reads)
    if problems and len(problems) == len(jobs):
        raise problems[0]


def stream(fuser_of, args: argparse.Namespace, reads: list, **predictor) -> int:  # noqa: ANN001
    """Check the jobs of args, then build the fuser (fuser_of()) and run it over them; one line per file, exit code
    1 if any failed."""
    from seisfuse.inference.predict import Predictor

    options = options_of(args)
    jobs = jobs_from(args)
    check_jobs(jobs, options, reads)
    fuser = fuser_of()
    run = Predictor(fuser, options, progress=not args.quiet, verbose=args.verbose,
                    on_file=lambda r: print(file_line(r), flush=True), reads=reads, **predictor)
    results = run.run(jobs)
    failed = [r for r in results if r.status == "failed"]
    if run.ranks.is_zero:
        for r in results:
            if r.status == "skipped":
                print(file_line(r))
        for r in failed:
            print_error(f"{flag(r.setting)}: {r.error}" if r.setting else r.error)
        if len(results) > 1:
            counts = {s: sum(r.status == s for r in results) for s in ("written", "skipped", "failed")}
            shared = sum(r.status == "written by another rank" for r in results)
            print(f"{len(results)} files: {counts['written']} written here" + (f", {shared} by other ranks" if shared else "")
                  + f", {counts['skipped']} skipped, {counts['failed']} failed")
    return max((r.exit_code for r in failed), default=0)


def run_predict(args: argparse.Namespace) -> int:
    from seisfuse.inference.predict import check_devices, resolve_device

    resolve_device(args.device)  # a GPU asked for and absent: said before anything is read
    check_devices(args.device, args.devices, args.num_nodes)

    def fuser_of():  # noqa: ANN202 - a Fuser
        from seisfuse.inference.fusers import load_fuser
        from seisfuse.inference.weights import shipped_name

        fuser = load_fuser(args.model)
        if not args.quiet:
            name = shipped_name(args.model)
            where = f"the {name} model shipped with seisfuse" if name else args.model
            print(f"model: {fuser.name} ({where}); {fuser.settings.describe()}", flush=True)
        return fuser

    return stream(fuser_of, args, [*model_reads(args)], device=args.device, devices=args.devices,
                  num_nodes=args.num_nodes, slurm=args.slurm)


def run_baseline(args: argparse.Namespace) -> int:
    from seisfuse.inference.fusers import baseline_fuser

    settings, params = branch_settings(args), parse_params(args.param)
    baseline_fuser(args.method, settings, **params)  # a bad method parameter: said before anything is read
    return stream(lambda: baseline_fuser(args.method, settings, **params), args, list(args.config), device="cpu")


def parse_params(items: list[str]) -> dict[str, float]:
    """{key: number} from KEY=VALUE strings (whole numbers as int: sizes, lengths, windows)."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not key or number is None:
            raise SettingError("param", f"{item!r}: use KEY=NUMBER, e.g. sigma=1.5")
        out[key] = int(number) if number.is_integer() else number
    return out

