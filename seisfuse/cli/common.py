"""What the commands share: header-byte and config options, section specs, flag wording, summary lines."""

from __future__ import annotations

import argparse
import re

from seisfuse.errors import SeisfuseError

#: Overrides of a training config that non-training commands accept, LightningCLI's form: --data.key=value
OVERRIDE = re.compile(r"^--(data|model)\.[A-Za-z_][\w.]*(=.*)?$")


def add_header_args(p: argparse.ArgumentParser) -> None:
    """Options choosing the trace-header words of the geometry."""
    g = p.add_argument_group("header byte locations (default: detect: 189/193, then 5/21, then 2D CDP at 21)")
    g.add_argument("--iline-byte", type=int, default=None, metavar="B", help="byte of the inline number (e.g. 189, 5, 9)")
    g.add_argument("--xline-byte", type=int, default=None, metavar="B", help="byte of the crossline / CDP number (e.g. 193, 21)")
    g.add_argument("--header-preset", choices=["standard", "petrel", "2d-cdp"], default=None,
                   help="named byte locations: standard 189/193, petrel 5/21, 2d-cdp 21")
    g.add_argument("--section-key", type=int, default=None, metavar="BYTE",
                   help="pre-stack gathers: one section per value of this trace-header word (e.g. 9 FFID, 17 source "
                        "point, 21 CDP); detected from those when offsets vary and no post-stack grid fits")


def header_bytes(args: argparse.Namespace):
    """HeaderBytes from the parsed options (None: detect)."""
    from seisfuse.segy import header_bytes_from

    return header_bytes_from(args.header_preset, args.iline_byte, args.xline_byte, args.section_key)


def add_config_args(p: argparse.ArgumentParser) -> None:
    """--config (repeatable) and --data.key=value overrides: the branch settings of a training config."""
    p.add_argument("--config", action="append", default=[], metavar="CFG",
                   help="training config whose data.edges and data.clip_percentile make the edge branch "
                        "(repeatable, later files override; --data.key=value overrides as for `seisfuse fit`)")


#: The keys of a training config that the classical commands read (the rest of a config is the training's).
BRANCH_KEYS = ("edges", "clip_percentile")


def branch_settings(args: argparse.Namespace):
    """The branch settings (data.edges, data.clip_percentile) of --config files merged in order and --data.key=value
    overrides, as `seisfuse fit` reads them."""
    from seisfuse.branches import BranchSettings
    from seisfuse.config import data_section_of
    from seisfuse.errors import ConfigError

    data = data_section_of(args.config, args.overrides, BRANCH_KEYS)
    where = ", ".join(map(str, args.config)) or "overrides"
    try:
        return BranchSettings(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: data.{exc}") from None


MODEL_HELP = ("fast (the default shipped model: raw and edge branches, 10x or more faster than BM3D), best (the shipped "
              "model that also fuses BM3D, structure-oriented BM3D and f-x deconvolution estimates; needs "
              "pip install 'seisfuse[baselines]'), or a checkpoint of `seisfuse fit`, weights of `seisfuse export`, or "
              "a folder holding one (a W&B artifact)")


def add_model_arg(p: argparse.ArgumentParser, purpose: str = "") -> None:
    """--model (alias --ckpt): a shipped model by name or a model file, the same for every command."""
    p.add_argument("--model", "--ckpt", dest="model", default=None, metavar="MODEL",
                   help=(f"{purpose}: " if purpose else "") + MODEL_HELP)


def model_reads(args: argparse.Namespace) -> list:
    """The model file --model names, resolved (a folder's file), as a file the command reads: never an output."""
    from seisfuse.inference.weights import model_source, shipped_name

    model = getattr(args, "model", None)
    if model is None or shipped_name(model) is not None:
        return []
    try:
        return [model_source(model)]
    except SeisfuseError:  # a missing model is reported when it is loaded
        return [model]


def parse_section(volume, spec: str | None):
    """A View from 'inline:K' / 'crossline:K' (line numbers) or 'time:T' (ms); default: the middle inline."""
    from seisfuse.errors import file_error
    from seisfuse.evaluation.views import View, section_view

    if spec is None:
        return section_view(volume, "inline", volume.n_sections("inline") // 2)
    axis, sep, value = spec.partition(":")
    if not sep or axis not in ("inline", "crossline", "time"):
        raise SeisfuseError(f"--section {spec!r}: use inline:K, crossline:K (line numbers) or time:T (ms)")
    try:
        number = float(value)
    except ValueError:
        raise SeisfuseError(f"--section {spec!r}: {value!r} is not a number") from None
    if axis == "time":
        if not volume.samples[0] <= number <= volume.samples[-1]:
            raise file_error(volume.path, f"time {number:g} outside {volume.samples[0]:g}..{volume.samples[-1]:g} ms")
        k = volume.sample_index(number)
        return View("time", k, f"time slice {volume.samples[k]:g} ms")
    return section_view(volume, axis, volume.section_index(axis, int(number)))


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def finite_float(text: str) -> float:
    """argparse type: a finite number."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def flag(name: str) -> str:
    """The command-line flag of a library argument name (config keys such as data.batch_size keep their form)."""
    return "--" + (name if "." in name else name.replace("_", "-"))
