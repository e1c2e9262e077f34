"""Settings from configs: dataclasses built from plain mappings (unknown keys named), and YAML files read safely."""

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


#: A YAML config may not be bigger than this on disk, nor expand (aliases resolved) to more nodes than this.
MAX_CONFIG_BYTES = 4 * 2**20
MAX_CONFIG_NODES = 200_000


def check_yaml_text(text: str, where: str) -> None:
    """Refuse YAML whose aliases expand past MAX_CONFIG_NODES (a "billion laughs"), without expanding it."""
    import yaml

    from seisfuse.errors import ConfigError

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    sizes: dict[int, int] = {}

    def expanded(node: Any) -> int:  # nodes once aliases are expanded, each distinct node computed once
        key = id(node)
        if key not in sizes:
            sizes[key] = 0  # a recursive alias counts as one node while it is being sized
            children = node.value if isinstance(node.value, list) else []
            total = 1
            for child in children:
                for part in (child if isinstance(child, tuple) else (child,)):
                    total += expanded(part)
                    if total > MAX_CONFIG_NODES:
                        break
            sizes[key] = total
        return sizes[key]

    if root is not None and expanded(root) > MAX_CONFIG_NODES:
        raise ConfigError(f"{where}: YAML aliases expand to more than {MAX_CONFIG_NODES:,} values; refused "
                          "(an alias bomb?)")


def load_yaml_file(path: str, where: str | None = None) -> Any:
    """A config file's YAML, size- and alias-checked first (see check_yaml_text); one-line errors naming the file."""
    import os

    import yaml

    from seisfuse.errors import ConfigError

    where = where or path
    try:
        size = os.path.getsize(path)
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where}: {size:,} bytes is too big for a config (limit {MAX_CONFIG_BYTES:,})")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the config ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a text file") from None
    check_yaml_text(text, where)
    return yaml.safe_load(text)


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts merged, top's values winning (lists replaced, as LightningCLI does)."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
