"""The one exception type users see: a message naming the file and the problem."""

from __future__ import annotations

import os


class SeisfuseError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""

    exit_code = 1


class ConfigError(SeisfuseError):
    """A configuration or command-line mistake (exit code 2, like other usage errors)."""

    exit_code = 2


def file_error(path: str | os.PathLike, problem: str) -> SeisfuseError:
    """Build an error whose message starts with the file it is about."""
    return SeisfuseError(f"{os.fspath(path)}: {problem}")
