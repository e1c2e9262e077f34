"""The one exception type users see: a message naming the file and the problem."""

from __future__ import annotations

import os


class SeisfuseError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


def file_error(path: str | os.PathLike, problem: str) -> SeisfuseError:
    """Build an error whose message starts with the file it is about."""
    return SeisfuseError(f"{os.fspath(path)}: {problem}")
