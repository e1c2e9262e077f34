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
