"""`seisfuse predict` and `seisfuse baseline`: stream every section of a volume through a fuser into a new SEG-Y."""

from __future__ import annotations

import argparse

from seisfuse.cli.common import add_config_args, add_header_args, branch_settings, header_bytes, result_line
from seisfuse.errors import SettingError
from seisfuse.ranks import is_global_zero

#: seisfuse.models.baselines.METHODS, listed here so that parsing arguments imports no torch (a test keeps them equal)
METHODS = ("average", "laplacian", "wavelet", "gaussian", "median", "bilateral")


def add_stream_args(p: argparse.ArgumentParser) -> None:
    """Options shared by predict and baseline: input, output, axis, batching."""
    p.add_argument("--input", required=True, metavar="IN.sgy")
    p.add_argument("--output", required=True, metavar="OUT.sgy")
    p.add_argument("--axis", choices=["inline", "crossline", "both"], default="inline",
                   help="fuse inline or crossline sections, or both averaged (default inline)")
    p.add_argument("--batch-size", type=int, default=4, metavar="N", help="sections per forward pass (default 4)")
    p.add_argument("--num-workers", type=int, default=2, metavar="N",
                   help="processes reading and preparing sections (default 2)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_header_args(p)


def add(sub) -> None:
    p = sub.add_parser("predict", help="fuse a SEG-Y volume with a trained checkpoint",
                       description="Fuse every section of a SEG-Y volume with a trained network and write a copy of "
                                   "the input with the fused samples (all headers kept; integer formats become IEEE "
                                   "float). The input is normalized with its own statistics and its edge branch made "
                                   "with the checkpoint's pipeline; output amplitudes are in the input's units.")
    p.add_argument("--ckpt", required=True, metavar="CKPT", help="checkpoint written by `seisfuse fit`")
    add_stream_args(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--devices", type=int, default=1, metavar="N", help="GPUs (ranks) to split the sections across")
    p.add_argument("--precision", choices=["32", "bf16", "16"], default="32")
    p.add_argument("--tile", type=int, default=1024, metavar="PX",
                   help="sections larger than this are fused in overlapping tiles (default 1024)")
    p.add_argument("--overlap", type=int, default=64, metavar="PX", help="tile overlap (default 64)")
    p.set_defaults(func=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from seisfuse.predict import load_fuser, predict_volume

    fuser = load_fuser(args.ckpt, device="cpu")
    res = predict_volume(fuser, args.input, args.output, axis=args.axis, batch_size=args.batch_size,
                         device=args.device, devices=args.devices, precision=args.precision,
                         num_workers=args.num_workers, tile=args.tile, overlap=args.overlap, force=args.force,
                         header_bytes=header_bytes(args), progress=not args.quiet)
    if is_global_zero():
        print(result_line(res))
    return 0


def add_baseline(sub) -> None:
    p = sub.add_parser("baseline", help="a classical fusion (average, laplacian, wavelet) or filter (gaussian, median, "
                                        "bilateral)",
                       description="Process every section with a classical method through the same streaming path as "
                                   "predict. Fusion rules of the (raw, edge) pair: average, Laplacian pyramid (max-abs "
                                   "details) or wavelet (max-abs details); the edge branch comes from --config's "
                                   "data.edges (default pipeline). Filters of the raw section, one OpenCV call each: "
                                   "gaussian, median, bilateral, with parameters tuned on synthetic training data "
                                   "(scripts/bench/tune_classical.py) unless --param sets them.")
    p.add_argument("--method", required=True, choices=list(METHODS))
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a filter parameter, e.g. sigma=1.5, size=5, diameter=7, sigma_color=0.2, sigma_space=3")
    add_config_args(p)
    add_stream_args(p)
    p.set_defaults(func=run_baseline, accepts_overrides=True)


def run_baseline(args: argparse.Namespace) -> int:
    from seisfuse.predict import baseline_fuser, predict_volume

    fuser = baseline_fuser(args.method, branch_settings(args), **parse_params(args.param))
    res = predict_volume(fuser, args.input, args.output, axis=args.axis,
                         batch_size=args.batch_size, device="cpu", num_workers=args.num_workers, force=args.force,
                         header_bytes=header_bytes(args), progress=not args.quiet)
    print(result_line(res))
    return 0


def parse_params(items: list[str]) -> dict[str, float]:
    """{key: number} from KEY=VALUE strings."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not key or number is None:
            raise SettingError("param", f"{item!r}: use KEY=NUMBER, e.g. sigma=1.5")
        out[key] = int(number) if number.is_integer() and key in ("size", "diameter") else number
    return out
