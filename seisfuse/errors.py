"""The one exception type users see: a message naming the file and the problem."""

from __future__ import annotations

import os


class SeisfuseError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""

    exit_code = 1


class ConfigError(SeisfuseError):
    """A configuration or command-line mistake (exit code 2, like other usage errors)."""

    exit_code = 2


class SettingError(ConfigError):
    """A setting with a wrong value; `name` is the library's argument name (the CLI shows its flag)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class Terminated(BaseException):
    """SIGTERM arrived (SLURM's scancel or time limit): unwind like Ctrl-C, removing unfinished outputs."""


#: Exit codes of every command (README: "Exit codes").
EXIT_OK, EXIT_INPUT, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def print_error(message: str) -> None:
    """The one way every command reports a failure: `seisfuse: error: MESSAGE` on stderr, one line."""
    import sys

    print(f"seisfuse: error: {message}", file=sys.stderr, flush=True)


def file_error(path: str | os.PathLike, problem: str) -> SeisfuseError:
    """Build an error whose message starts with the file it is about."""
    return SeisfuseError(f"{os.fspath(path)}: {problem}")


def config_error_line(message: str) -> str:
    """The informative line of a jsonargparse message (its Union reports list every subtype tried)."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    reasons = [ln[2:] for ln in lines if ln.startswith("- ") and not ln.startswith("- Expected a")]
    if reasons:
        key = lines[0].split(":")[0] if lines[0].startswith("Parser key") else ""
        return f"{key}: {reasons[0]}" if key else reasons[0]
    if len(lines) > 1 and lines[0].endswith(":"):  # 'Parser key "data.patch_size":' then the reason
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else message


def describe_failure(exc: BaseException, path: str | os.PathLike,
                     output: str | os.PathLike | None = None) -> tuple[str, str | None, int]:
    """(one-line message, setting name or None, exit code) for any failure while processing the file at path into
    output (a full disk is the output's problem, whichever file the error names)."""
    import errno

    if isinstance(exc, SettingError):
        return exc.problem, exc.name, exc.exit_code
    if isinstance(exc, SeisfuseError):
        return str(exc), None, exc.exit_code
    if isinstance(exc, OSError):
        where = exc.filename or path
        if exc.errno == errno.ENOSPC:
            return f"{output or where}: no space left on device; nothing was left under its name", None, 1
        return f"{where}: {exc.strerror or exc}", None, 1
    if isinstance(exc, MemoryError):
        return f"{path}: out of memory; try a smaller --batch-size or --tile", None, 1
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{path}: {type(exc).__name__}" + (f": {first}" if first else ""), None, 1
