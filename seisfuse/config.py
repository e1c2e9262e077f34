"""Configuration, in one place: reading YAML and JSON safely, settings objects from mappings, and the rules across
sections.

* :func:`read_yaml`, :func:`read_json`: every config, run record and benchmark file seisfuse
  reads goes through these: a size limit, an alias-expansion limit (a "billion laughs" is refused
  without being expanded), and a one-line error naming the file for anything unreadable
  (binary, truncated, not valid YAML or JSON).
* :func:`from_mapping`, :func:`settings_object`: a settings dataclass from its mapping form, with
  one unknown-key rule (the valid keys are listed).
* :func:`check_rules`: the rules that tie one section of a training config to another (the
  blind-spot loss needs blind-spot data, ...), run once before anything is built, each failing in
  one line that names both keys.
* :func:`data_section_of`: the data section of config files merged in order, with
  ``--data.key=value`` overrides, for the commands that are not training.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from seisfuse.errors import ConfigError, SettingError

T = TypeVar("T")

#: A YAML or JSON file may not be bigger than this on disk, nor expand (aliases resolved) to more nodes than this.
MAX_CONFIG_BYTES = 4 * 2**20
MAX_JSON_BYTES = 64 * 2**20
MAX_CONFIG_NODES = 200_000


# ---------------------------------------------------------------- mappings -> settings objects
def from_mapping(cls: type[T], d: Mapping[str, Any] | None, section: str) -> T:
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


def settings_object(cls: type[T], value: Any, key: str) -> T | None:
    """value as a cls settings object: None stays None, an object stays itself, a mapping is built (unknown keys
    refused); a bad value is a SettingError naming the key."""
    if value is None or (is_dataclass(value) and isinstance(value, cls)):
        return value
    try:
        return from_mapping(cls, value if isinstance(value, Mapping) else vars(value), key)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        field = next((f.name for f in fields(cls) if message.startswith(f"{f.name}: ")), None)  # type: ignore[arg-type]
        if field is not None:  # "edges: ..." from the settings class: the error names data.edges
            raise SettingError(f"{key}.{field}", message[len(field) + 2:]) from None
        raise SettingError(key, message) from None


# ---------------------------------------------------------------- files
def _read_text(path: str | os.PathLike, where: str, limit: int, what: str) -> str:
    """A file's text, refused over `limit` bytes; one-line errors naming the file."""
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise ConfigError(f"{where}: {size:,} bytes is too big for {what} (limit {limit:,})")
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {what} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not a text file ({what} expected)") from None


def check_yaml_text(text: str, where: str) -> None:
    """Refuse YAML whose aliases expand past MAX_CONFIG_NODES (a "billion laughs"), without expanding it."""
    import yaml

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


def read_yaml(path: str | os.PathLike, where: str | None = None) -> Any:
    """A YAML file, size- and alias-checked before it is parsed; one-line errors naming the file."""
    import yaml

    where = where or str(path)
    text = _read_text(path, where, MAX_CONFIG_BYTES, "a YAML file")
    check_yaml_text(text, where)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:  # pragma: no cover - compose() above parses the same text
        raise ConfigError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None


def read_json(path: str | os.PathLike, where: str | None = None) -> Any:
    """A JSON file (e.g. a run's benchmark.json), size-checked; one-line errors naming the file."""
    where = where or str(path)
    text = _read_text(path, where, MAX_JSON_BYTES, "a JSON file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_config_files(paths: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """Config files merged in order (later files win), each a mapping of sections."""
    out: dict[str, Any] = {}
    for path in paths:
        loaded = read_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a config is a mapping of sections (data:, model:, ...)")
        out = merge(out, loaded or {})
    return out


def merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts merged, top's values winning (lists replaced, as LightningCLI does)."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# ---------------------------------------------------------------- the commands that are not training
def data_section_of(configs: Sequence[str | os.PathLike], overrides: Sequence[str], keys: Sequence[str]) -> dict[str, Any]:
    """The `data:` section of config files merged in order, then `--data.key=value` overrides, limited to keys: what
    the commands that are not training read of a training config; an override of any other key is refused, since
    the command would ignore it."""
    import yaml

    merged = dict(read_config_files(configs).get("data") or {})
    data = {k: merged[k] for k in keys if k in merged}
    for item in overrides:
        key, _, value = item[2:].partition("=")
        section, _, name = key.partition(".")
        if section != "data" or name not in keys:
            raise SettingError(key, f"this command reads only data.{' and data.'.join(keys)} of a config")
        try:
            data[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise SettingError(key, f"{value!r} is not valid YAML") from None
    return data


# ---------------------------------------------------------------- rules across sections
def _get(cfg: Mapping[str, Any], key: str) -> Any:
    """cfg's value at a dotted key (None where a section is missing)."""
    value: Any = cfg
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value


def _rule(ok: bool, first: str, second: str, why: str) -> None:
    """A ConfigError naming both keys unless ok."""
    if not ok:
        raise ConfigError(f"config: {first} and {second}: {why}")


def check_rules(cfg: Mapping[str, Any], start: Any = None) -> None:
    """The rules that tie the sections of a training config together, checked before anything is built; start is
    the model file of model.init_weights (a ModelFile), when there is one."""
    reference = _get(cfg, "model.loss.reference") or "sources"
    blindspot, noisier = _get(cfg, "data.blindspot"), _get(cfg, "data.noisier")
    clean_sources = [k for k in ("data.synthetic", "data.pool", "data.noisier") if _get(cfg, k)]
    _rule((reference == "blindspot") == bool(blindspot), "model.loss.reference", "data.blindspot",
          "the blind-spot loss and blind-spot data go together: set both (reference: blindspot with "
          "data.blindspot: {fraction: 0.01}) or neither" if reference == "blindspot" else
          f"data.blindspot hides pixels for the blind-spot loss, but model.loss.reference is {reference}: the network "
          "would train on masked inputs; set model.loss.reference: blindspot or remove data.blindspot")
    _rule(not noisier or reference == "clean", "data.noisier", "model.loss.reference",
          f"Noisier2Noise patches carry their targets as clean references: needs reference clean, not {reference}")
    _rule(reference != "clean" or bool(clean_sources), "model.loss.reference", "data.synthetic",
          "the clean loss needs noise-free references: set data.synthetic or data.pool (or data.noisier for a "
          "survey's own noise)")
    if start is not None:
        settings = start.branches
        edges, clip = _get(cfg, "data.edges"), _get(cfg, "data.clip_percentile")
        branches = tuple(_get(cfg, "data.branches") or ("raw", "edge"))
        same = ([dict(op) for op in (edges or [])] == settings.edges and clip == settings.clip_percentile
                and branches == settings.branches)
        _rule(same, "model.init_weights", "data.edges",
              f"{start.name} was trained with {settings.describe()} and clip percentile "
              f"{settings.clip_percentile:g}; set data.branches, data.edges and data.clip_percentile to those")


__all__ = ["MAX_CONFIG_BYTES", "MAX_CONFIG_NODES", "check_rules", "data_section_of",
           "check_yaml_text", "from_mapping", "merge", "read_config_files", "read_json", "read_yaml",
           "settings_object"]
