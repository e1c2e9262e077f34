"""The `seisfuse` command: argument parsing, one-line errors, and dispatch to the modules."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from seisfuse.errors import SeisfuseError

LIGHTNING_COMMANDS = ("fit", "validate", "test")

DESCRIPTION = """\
seisfuse: learned fusion of raw and edge-enhanced seismic sections.

commands:
  synth      write a synthetic folded, faulted survey as SEG-Y
  info       describe a SEG-Y file (format, geometry, ranges, amplitudes)
  preview    draw raw | edge (| fused | difference) panels of one section as PNG
  fit        train a fusion network from a YAML config (also: validate, test)
  predict    fuse a SEG-Y volume with a trained checkpoint
  baseline   fuse with a classical method (average, laplacian, wavelet)
  evaluate   fusion metrics of fused volumes against their input

Run `seisfuse COMMAND --help` for the options of a command.
"""


def _header_args(p: argparse.ArgumentParser) -> None:
    """Options choosing the trace-header words of the geometry."""
    g = p.add_argument_group("header byte locations (default: detect: 189/193, then 5/21, then 2D CDP at 21)")
    g.add_argument("--iline-byte", type=int, default=None, metavar="B", help="byte of the inline number (e.g. 189, 5, 9)")
    g.add_argument("--xline-byte", type=int, default=None, metavar="B", help="byte of the crossline / CDP number (e.g. 193, 21)")
    g.add_argument("--header-preset", choices=["standard", "petrel", "2d-cdp"], default=None,
                   help="named byte locations: standard 189/193, petrel 5/21, 2d-cdp 21")


def _header_bytes(args: argparse.Namespace):
    """HeaderBytes from the parsed options (None: detect)."""
    from seisfuse.segy import header_bytes_from

    return header_bytes_from(args.header_preset, args.iline_byte, args.xline_byte)


# ---------------------------------------------------------------- synth
def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic survey as SEG-Y",
                       description="Write a synthetic folded, faulted layered survey (Ricker wavelet, additive noise) as "
                                   "inline-sorted SEG-Y with inline/crossline at bytes 189/193. Deterministic by seed.")
    p.add_argument("output", metavar="OUT.sgy", help="noisy seismic volume to write")
    p.add_argument("--inlines", type=int, default=128, metavar="N")
    p.add_argument("--crosslines", type=int, default=128, metavar="N")
    p.add_argument("--samples", type=int, default=256, metavar="N")
    p.add_argument("--dt", type=float, default=4.0, metavar="MS", help="sample interval in ms (default 4)")
    p.add_argument("--freq", type=float, default=30.0, metavar="HZ", help="Ricker dominant frequency (default 30)")
    p.add_argument("--faults", type=int, default=3, metavar="K")
    p.add_argument("--noise", type=float, default=0.3, metavar="S", help="noise RMS / signal RMS (default 0.3)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--fault-mask", default=None, metavar="MASK.sgy", help="also write the fault mask (0/1)")
    p.add_argument("--clean", default=None, metavar="CLEAN.sgy", help="also write the noise-free volume")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_synth)


def cmd_synth(args: argparse.Namespace) -> int:
    from seisfuse.files import check_output
    from seisfuse.synth import SynthConfig, make_survey, write_volume

    outputs = [o for o in (args.output, args.clean, args.fault_mask) if o]
    if len({os.path.abspath(o) for o in outputs}) != len(outputs):
        raise SeisfuseError(f"{args.output}: output, --clean and --fault-mask must be different files")
    for o in outputs:
        check_output(o, force=args.force)
    try:
        cfg = SynthConfig(inlines=args.inlines, crosslines=args.crosslines, samples=args.samples, dt_ms=args.dt,
                          freq_hz=args.freq, faults=args.faults, noise=args.noise, seed=args.seed)
    except ValueError as exc:
        raise SeisfuseError(f"{args.output}: {exc}") from None
    survey = make_survey(cfg)
    write_volume(args.output, survey.seismic, cfg, "seismic")
    if args.clean:
        write_volume(args.clean, survey.clean, cfg, "clean (noise-free)")
    if args.fault_mask:
        write_volume(args.fault_mask, survey.fault_mask, cfg, "fault mask")
    print(f"wrote {args.output}: {cfg.inlines} inlines x {cfg.crosslines} crosslines x {cfg.samples} samples "
          f"@ {cfg.dt_ms:g} ms, {cfg.faults} faults, noise {cfg.noise:g}, seed {cfg.seed}")
    for extra in (args.clean, args.fault_mask):
        if extra:
            print(f"wrote {extra}")
    return 0


# ---------------------------------------------------------------- info
def _add_info(sub) -> None:
    p = sub.add_parser("info", help="describe a SEG-Y file",
                       description="Describe a SEG-Y file: sample format, byte order, sorting or 2D/unstructured, line "
                                   "ranges, traces, samples, sample interval, dead traces, amplitude statistics from a "
                                   "sample of traces, and the text header.")
    p.add_argument("input", metavar="FILE.sgy")
    _header_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-text-header", action="store_true", help="leave the text header out")
    p.add_argument("--no-scan", action="store_true",
                   help="skip the full read that counts dead traces and NaN/Inf samples (for very large files)")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from seisfuse.normalize import amplitude_stats
    from seisfuse.segy import describe, open_volume

    with open_volume(args.input, _header_bytes(args)) as vol:
        info = describe(vol, scan=not args.no_scan)
        info["amplitudes"] = amplitude_stats(vol).as_dict()
    if args.no_text_header:
        info.pop("text_header")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    text = info.pop("text_header", None)
    amps = info.pop("amplitudes")
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, list) and len(value) == 3 and key in ("inlines", "crosslines", "traces_keys"):
            value = f"{value[0]}..{value[1]} ({value[2]})"
        print(f"{key.replace('_', ' '):<{width}}  {value}")
    pct = ", ".join(f"{k} {v:.4g}" for k, v in amps["abs_percentiles"].items())
    print(f"{'amplitudes':<{width}}  min {amps['minimum']:.4g}, max {amps['maximum']:.4g}, mean {amps['mean']:.4g}, "
          f"rms {amps['rms']:.4g} over {amps['traces_sampled']} sampled traces")
    print(f"{'|amplitude|':<{width}}  {pct}")
    if text:
        print("text header:")
        for i in range(0, len(text), 80):
            line = text[i:i + 80].rstrip()
            if line.strip("\x00 "):
                print(f"  {line}")
    return 0


# ---------------------------------------------------------------- preview
def _add_preview(sub) -> None:
    p = sub.add_parser("preview", help="draw raw | edge (| fused | difference) panels of a section as PNG",
                       description="Draw one section as PNG panels: the normalized raw branch and the edge branch "
                                   "(from --config's data.edges, or the default pipeline); with --ckpt also the fused "
                                   "section and fused - raw. Seismic colormap, axes in line numbers and ms.")
    p.add_argument("input", metavar="FILE.sgy")
    p.add_argument("--config", default=None, metavar="CFG", help="training config whose data.edges to use")
    p.add_argument("--section", default=None, metavar="AXIS:K",
                   help="inline:K or crossline:K (line numbers) or time:T (ms); default: the middle inline")
    p.add_argument("--ckpt", default=None, metavar="CKPT", help="add fused and difference panels from a checkpoint")
    p.add_argument("--out", required=True, metavar="PANEL.png")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    _header_args(p)
    p.set_defaults(func=cmd_preview)


def cmd_preview(args: argparse.Namespace) -> int:
    from seisfuse.config import branch_settings
    from seisfuse.files import check_output
    from seisfuse.normalize import fit_normalizer
    from seisfuse.segy import open_volume
    from seisfuse.viz import parse_view, preview_figure, save_png

    check_output(args.out, [args.input], force=args.force)
    settings = branch_settings(args.config)
    fuse, title = None, "fused"
    if args.ckpt:
        from seisfuse.predict import load_fuser

        fuser = load_fuser(args.ckpt, device="cpu")
        settings, fuse, title = fuser.settings, fuser.fuse_section, f"fused ({os.path.basename(args.ckpt)})"
    with open_volume(args.input, _header_bytes(args)) as vol:
        view = parse_view(vol, args.section)
        fig = preview_figure(vol, view, settings.pipeline(), fit_normalizer(vol, settings.clip_percentile), fuse, title)
    save_png(fig, args.out)
    print(f"wrote {args.out}: {view.label} of {args.input}")
    return 0


# ---------------------------------------------------------------- predict / baseline
def _stream_args(p: argparse.ArgumentParser) -> None:
    """Options shared by predict and baseline: input, output, axis, batching, device."""
    p.add_argument("--input", required=True, metavar="IN.sgy")
    p.add_argument("--output", required=True, metavar="OUT.sgy")
    p.add_argument("--axis", choices=["inline", "crossline", "both"], default="inline",
                   help="fuse inline or crossline sections, or both averaged (default inline)")
    p.add_argument("--batch-size", type=int, default=4, metavar="N", help="sections per forward pass (default 4)")
    p.add_argument("--num-workers", type=int, default=2, metavar="N",
                   help="processes reading and preparing sections (default 2)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _header_args(p)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="fuse a SEG-Y volume with a trained checkpoint",
                       description="Fuse every section of a SEG-Y volume with a trained network and write a copy of "
                                   "the input with the fused samples (all headers kept; integer formats become IEEE "
                                   "float). The input is normalized with its own statistics and its edge branch made "
                                   "with the checkpoint's pipeline; output amplitudes are in the input's units.")
    p.add_argument("--ckpt", required=True, metavar="CKPT", help="checkpoint written by `seisfuse fit`")
    _stream_args(p)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--devices", type=int, default=1, metavar="N", help="GPUs (ranks) to split the sections across")
    p.add_argument("--precision", choices=["32", "bf16", "16"], default="32")
    p.add_argument("--tile", type=int, default=1024, metavar="PX",
                   help="sections larger than this are fused in overlapping tiles (default 1024)")
    p.add_argument("--overlap", type=int, default=64, metavar="PX", help="tile overlap (default 64)")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from seisfuse.predict import describe_result, load_fuser, predict_volume

    fuser = load_fuser(args.ckpt, device="cpu")
    res = predict_volume(fuser, args.input, args.output, axis=args.axis, batch_size=args.batch_size,
                         device=args.device, devices=args.devices, precision=args.precision,
                         num_workers=args.num_workers, tile=args.tile, overlap=args.overlap, force=args.force,
                         header_bytes=_header_bytes(args), progress=not args.quiet)
    if _rank_zero():
        print(describe_result(res))
    return 0


def _add_baseline(sub) -> None:
    p = sub.add_parser("baseline", help="fuse with a classical method (average, laplacian, wavelet)",
                       description="Fuse every section with a classical method through the same streaming path as "
                                   "predict: average, Laplacian pyramid (max-abs details) or wavelet (max-abs "
                                   "details). The edge branch comes from --config's data.edges (default pipeline).")
    p.add_argument("--method", required=True, choices=["average", "laplacian", "wavelet"])
    p.add_argument("--config", default=None, metavar="CFG", help="training config whose data.edges to use")
    _stream_args(p)
    p.set_defaults(func=cmd_baseline)


def cmd_baseline(args: argparse.Namespace) -> int:
    from seisfuse.predict import baseline_fuser, describe_result, predict_volume

    res = predict_volume(baseline_fuser(args.method, args.config), args.input, args.output, axis=args.axis,
                         batch_size=args.batch_size, device="cpu", num_workers=args.num_workers, force=args.force,
                         header_bytes=_header_bytes(args), progress=not args.quiet)
    print(describe_result(res))
    return 0


def _rank_zero() -> bool:
    return int(os.environ.get("LOCAL_RANK", "0")) == 0 and int(os.environ.get("NODE_RANK", "0")) == 0


# ---------------------------------------------------------------- evaluate
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="fusion metrics of fused volumes against their input",
                       description="Score fused volumes over a sample of sections: EN, SD, SF, AG, MI, Qabf, SCD, SSIM "
                                   "and PSNR to the raw and edge branches; with --clean and --fault-mask (synthetic "
                                   "data) also SSIM/PSNR to the clean volume and fault contrast. All volumes are "
                                   "normalized with the input's statistics. One row per fused file (* marks the best).")
    p.add_argument("--input", required=True, metavar="IN.sgy")
    p.add_argument("--fused", required=True, metavar="OUT.sgy", help="a fused volume")
    p.add_argument("--compare", nargs="+", default=[], metavar="B.sgy", help="more fused volumes, one row each")
    p.add_argument("--config", default=None, metavar="CFG", help="config whose data.edges make the edge branch")
    p.add_argument("--ckpt", default=None, metavar="CKPT", help="take the edge branch settings from a checkpoint")
    p.add_argument("--clean", default=None, metavar="CLEAN.sgy", help="noise-free volume (synthetic data)")
    p.add_argument("--fault-mask", default=None, metavar="MASK.sgy", help="fault mask (synthetic data)")
    p.add_argument("--axis", choices=["inline", "crossline"], default="inline")
    p.add_argument("--sections", type=int, default=8, metavar="N", help="sections sampled evenly (default 8)")
    p.add_argument("--json", default=None, metavar="METRICS.json", help="also write all metrics as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing JSON file")
    _header_args(p)
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from seisfuse.config import branch_settings
    from seisfuse.evaluate import evaluate
    from seisfuse.files import atomic_output, check_output

    if args.json:
        check_output(args.json, [args.input, args.fused, *args.compare], force=args.force)
    if args.ckpt:
        from seisfuse.predict import load_fuser

        settings = load_fuser(args.ckpt).settings
    else:
        settings = branch_settings(args.config)
    result = evaluate(args.input, [args.fused, *args.compare], settings, clean_path=args.clean,
                      fault_mask_path=args.fault_mask, axis=args.axis, n_sections=args.sections,
                      header_bytes=_header_bytes(args))
    print(f"{args.input}: {len(result.sections)} {result.axis} sections, edges {settings.pipeline().describe()}")
    print(result.table())
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(result.as_dict(), indent=2))
        print(f"wrote {args.json}")
    return 0


# ---------------------------------------------------------------- main
COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "synth": _add_synth, "info": _add_info, "preview": _add_preview, "predict": _add_predict,
    "baseline": _add_baseline, "evaluate": _add_evaluate}


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every command except the Lightning ones."""
    parser = argparse.ArgumentParser(prog="seisfuse", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from seisfuse import __version__

    parser.add_argument("--version", action="version", version=f"seisfuse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    for p in sub.choices.values():
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show Python tracebacks on errors")
    return parser


def _fail(message: str, code: int = 1) -> int:
    """Print a one-line error to stderr and return the exit code."""
    print(f"seisfuse: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `seisfuse` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if not debug:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # Lightning-internal deprecation noise
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            from seisfuse.train import run_lightning_cli

            try:
                return run_lightning_cli([a for a in argv if a != "--debug"], debug=debug)
            except SystemExit as exc:  # jsonargparse reports config errors by exiting (code 2) or --help (0)
                return exc.code if isinstance(exc.code, int) else 2
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except SeisfuseError as exc:
        if debug:
            raise
        return _fail(str(exc), exc.exit_code)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        if debug:
            raise
        return _fail("interrupted; no output was left under its final name", 130)
    except MemoryError:
        if debug:
            raise
        return _fail("out of memory; try a smaller --batch-size", 1)
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line unless --debug
        if debug:
            raise
        from seisfuse.train import config_error_line

        return _fail(f"{type(exc).__name__}: {config_error_line(str(exc))} (run with --debug for the traceback)")


if __name__ == "__main__":
    sys.exit(main())
