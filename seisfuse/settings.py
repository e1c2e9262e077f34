"""Settings dataclasses built from the plain mappings of a config, unknown keys named."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_mapping(cls: type[T], d: dict[str, Any] | None, section: str) -> T:
    """Build dataclass cls from a mapping, rejecting unknown keys with the list of valid ones.

    (A function, not a base class: jsonargparse reads a dataclass with a base class as a
    class_path/init_args subclass type, which would change the config format.)
    """
    d = dict(d or {})
    valid = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(d) - set(valid))
    if unknown:
        raise ValueError(f"unknown {section} option {', '.join(unknown)}; valid: {', '.join(valid)}")
    return cls(**d)
