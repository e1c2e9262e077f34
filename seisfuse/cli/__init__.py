"""The `seisfuse` command: argument parsing, one-line errors, and dispatch to one module per command."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

from seisfuse.cli import benchmark, compare, evaluate, export, info, predict, preview, runs, synth
from seisfuse.cli.common import OVERRIDE, flag
from seisfuse.errors import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    ConfigError,
    SeisfuseError,
    SettingError,
    Terminated,
    print_error,
)

LIGHTNING_COMMANDS = ("fit", "validate", "test")

DESCRIPTION = """\
seisfuse: learned fusion of raw and edge-enhanced seismic sections.

commands:
  synth      write a synthetic folded, faulted survey as SEG-Y
  info       describe a SEG-Y file (format, geometry, ranges, amplitudes)
  preview    draw raw | edge (| fused | difference) panels of one section as PNG
  compare    the same section of several volumes side by side, one colour scale
  fit        train a fusion network from a YAML config
  validate   score a checkpoint on the validation data of a config
  test       score a checkpoint on data.test_files
  predict    fuse SEG-Y files with a model (--model fast, the default, or best, or your checkpoint)
  baseline   a classical fusion rule or denoiser (gaussian, median, bilateral, fxdecon, bm3d, bm3d-psd, bm3d-so)
  evaluate   fusion metrics of fused volumes against their input
  benchmark  the semi-real protocol: real files + seeded noise, scored against the originals
  export     a weights-only model file from a checkpoint (logged to W&B as an artifact)
  runs       compare training runs: the config keys that differ, scores against the truth

Run `seisfuse COMMAND --help` for the options of a command.
"""

COMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "synth": synth.add, "info": info.add, "preview": preview.add, "predict": predict.add,
    "baseline": predict.add_baseline, "evaluate": evaluate.add, "export": export.add,
    "compare": compare.add, "benchmark": benchmark.add, "runs": runs.add}


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (`--classic` is no `--classical`), whose errors are one line with the command and
    the nearest valid name, as git suggests them; exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print_error(f"{self.prog.removeprefix('seisfuse ')}: {message} (see `{self.prog} --help`)"
                    if self.prog != "seisfuse" else message)
        raise SystemExit(EXIT_CONFIG)


def nearest(name: str, valid: Sequence[str]) -> str:
    """'; did you mean X?' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check_names(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """An unknown command or option is a one-line error with the nearest valid name, before argparse reports
    something else (a missing required option) about a mistyped one."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    commands = [*sub.choices, *LIGHTNING_COMMANDS]
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None:
        return
    if first not in sub.choices:
        raise ConfigError(f"unknown command {first!r}{nearest(first, commands)} (commands: {', '.join(commands)})")
    options = [o for a in sub.choices[first]._actions for o in a.option_strings]  # noqa: SLF001
    for arg in argv[argv.index(first) + 1:]:
        name = arg.split("=", 1)[0]
        if name.startswith("--") and name not in options and not OVERRIDE.match(arg):
            raise ConfigError(f"{first}: unknown option {name}{nearest(name, options)} (see `seisfuse {first} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of every command except the Lightning ones."""
    parser = Parser(prog="seisfuse", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    from seisfuse import __version__

    parser.add_argument("--version", action="version", version=f"seisfuse {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS.values():
        add(sub)
    for p in sub.choices.values():
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show Python tracebacks on errors")
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse argv; commands that read a training config also take its --data.key=value overrides."""
    check_names(parser, argv)
    args, extra = parser.parse_known_args(argv)
    overrides = [a for a in extra if OVERRIDE.match(a)]
    rest = [a for a in extra if a not in overrides]
    if overrides and not getattr(args, "accepts_overrides", False):
        rest = extra
    if rest:
        parser.parse_args(argv)  # the standard error and exit code 2 for what no command accepts
    args.overrides = overrides
    return args


class _Notes(logging.StreamHandler):
    """Notes of the "seisfuse" logger as one line each on the current stderr: seisfuse: note: ..."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("seisfuse: note: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # whatever stderr is now (redirected, captured)
        super().emit(record)


@contextlib.contextmanager
def _notes_on_stderr() -> Iterator[None]:
    """While a command runs, print the library's notes on stderr, one line each; then restore the logger."""
    log = logging.getLogger("seisfuse")
    saved = log.propagate, log.level
    handler = _Notes()
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate, log.level = saved


@contextlib.contextmanager
def _terminate_like_interrupt() -> Iterator[None]:
    """SIGTERM (SLURM cancel, time limit) unwinds as Ctrl-C does, so unfinished outputs are removed."""
    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _quiet_lightning() -> None:
    """Lightning's start-up banners, tips and performance hints only with --verbose (warnings and errors stay)."""
    from lightning.fabric.utilities.warnings import PossibleUserWarning

    for name in ("lightning.pytorch", "lightning.fabric", "lightning_fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=PossibleUserWarning)
    warnings.filterwarnings("ignore", message=r".*(log_every_n_steps|does not have many workers|exists and is not "
                                              r"empty|litlogger|LitLogger).*")


def _fail(message: str, code: int = 1) -> int:
    """Print a one-line error to stderr and return the exit code."""
    print_error(message)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `seisfuse` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with _notes_on_stderr():
        return _run(argv)


def _run(argv: list[str]) -> int:
    """Run one command; every failure becomes a one-line error and an exit code (unless --debug)."""
    debug = "--debug" in argv
    if not debug:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # Lightning-internal deprecation noise
    try:
        if argv and argv[0] in LIGHTNING_COMMANDS:
            from seisfuse.training.train import run_lightning_cli

            if "--verbose" not in argv:
                _quiet_lightning()
            try:
                return run_lightning_cli([a for a in argv if a not in ("--debug", "--verbose")], debug=debug)
            except SystemExit as exc:  # jsonargparse reports config errors by exiting (code 2) or --help (0)
                return exc.code if isinstance(exc.code, int) else 2
        parser = build_parser()
        try:
            args = parse(parser, argv)
        except SystemExit as exc:  # --help, --version, or a usage error argparse has printed (in one line)
            return exc.code if isinstance(exc.code, int) else EXIT_CONFIG
        if not args.command:
            parser.print_help()
            return 2
        with _terminate_like_interrupt():
            return int(args.func(args) or 0)
    except SettingError as exc:
        if debug:
            raise
        return _fail(f"{flag(exc.name)}: {exc.problem}", exc.exit_code)
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
        return _fail("interrupted; no output was left under its final name", EXIT_INTERRUPTED)
    except Terminated:
        return _fail("terminated (SIGTERM); unfinished outputs were removed, none was left under its final name",
                     EXIT_TERMINATED)
    except OSError as exc:
        if debug:
            raise
        from seisfuse.files import final_name

        where = final_name(exc.filename2 or exc.filename) if (exc.filename2 or exc.filename) else "output"
        if exc.errno == errno.ENOSPC:
            return _fail(f"{where}: no space left on device; nothing was left under its name")
        return _fail(f"{where}: {exc.strerror or exc}")
    except MemoryError:
        if debug:
            raise
        return _fail("out of memory; try a smaller --batch-size", 1)
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line unless --debug
        if debug:
            raise
        from seisfuse.errors import config_error_line

        return _fail(f"{type(exc).__name__}: {config_error_line(str(exc))} (run with --debug for the traceback)")


if __name__ == "__main__":
    sys.exit(main())
