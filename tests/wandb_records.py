"""Read what an offline W&B run wrote: the records of its run-<id>.wandb file (LevelDB log of protobufs)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32768
HEADER = 7  # checksum (4), length (2), type (1)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def raw_records(path: Path) -> Iterator[bytes]:
    """Payloads of the log: a 7-byte file header, then records in 32 KiB blocks, split across blocks if long."""
    buf = Path(path).read_bytes()
    ident, _magic, _version = struct.unpack("<4sHB", buf[:7])
    assert ident == b":W&B", f"{path} is not a W&B run file"
    pos, parts = 7, []
    while pos + HEADER <= len(buf):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", buf[pos: pos + HEADER])
        pos += HEADER
        if kind == 0 and length == 0:
            break
        data, pos = buf[pos: pos + length], pos + length
        if kind == FULL:
            yield data
        elif kind == FIRST:
            parts = [data]
        elif kind == MIDDLE:
            parts.append(data)
        elif kind == LAST:
            parts.append(data)
            yield b"".join(parts)


@dataclass
class Run:
    """What a run recorded: id, group, tags, config, history rows, summaries of defined metrics, files."""

    folder: Path
    run_id: str = ""
    group: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    metric_summaries: dict[str, str] = field(default_factory=dict)
    job_type: str = ""
    artifacts: list[dict] = field(default_factory=list)  # name, type, metadata, manifest paths
    summary: dict = field(default_factory=dict)  # run-summary updates (the last value of each key)

    def values(self, key: str) -> list:
        """Every logged value of a history key, in order."""
        return [row[key] for row in self.history if key in row]

    def media(self, key: str) -> list[dict]:
        """Every logged media record of a key: one dict per log call (older wandb nests it, newer flattens it)."""
        out = []
        for row in self.history:
            if isinstance(row.get(key), dict):
                out.append(row[key])
            elif any(k.startswith(key + "/") for k in row):
                out.append({k[len(key) + 1:]: v for k, v in row.items() if k.startswith(key + "/")})
        return out


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def read_run(folder: Path) -> Run:
    """Parse an offline-run-* folder."""
    (wandb_file,) = Path(folder).glob("run-*.wandb")
    run = Run(Path(folder))
    for data in raw_records(wandb_file):
        rec = pb.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            run.run_id, run.group, run.tags = rec.run.run_id, rec.run.run_group, list(rec.run.tags)
            run.job_type = rec.run.job_type
            for item in rec.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in rec.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "artifact":
            a = rec.artifact
            run.artifacts.append({"name": a.name, "type": a.type, "metadata": json.loads(a.metadata or "{}"),
                                  "files": [e.path for e in a.manifest.contents]})
        elif kind == "summary":
            for item in rec.summary.update:
                run.summary[_key(item)] = json.loads(item.value_json)
        elif kind == "metric":
            summary = rec.metric.summary
            run.metric_summaries[rec.metric.name] = ",".join(
                name for name in ("min", "max", "mean", "last") if getattr(summary, name))
    return run


def offline_runs(root: Path) -> list[Path]:
    """offline-run-* folders under root, oldest first."""
    return sorted(Path(root).rglob("offline-run-*"))
