"""Comparing experiments without a server: read run folders, show what differs between them, rank them by the truth.

A run folder (`runs/<experiment>/<id>/`) holds the resolved config (`config.yaml`), the metric
history (`csv/metrics.csv`, written by every shipped config) and, after a fit with the
end-of-run benchmark, `benchmark.json`. Runs are ranked by their best `val/score` (SSIM to the
clean validation references; the same quantity whatever the loss). `from_wandb` reads the same
from a W&B project through the public API, when online.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seisfuse.config import read_json, read_yaml
from seisfuse.errors import SeisfuseError, file_error

SCORE = "val/score"
MAX_HISTORY_BYTES = 256 * 2**20
HISTORY = ("csv/metrics.csv", "metrics.csv")
#: Config keys that differ between any two runs without being an experimental choice.
IGNORED = ("trainer.default_root_dir", "ckpt_path", "config", "trainer.logger", "data.cache_dir")
PER_RUN_FIELDS = ("dirpath", "save_dir")  # folders inside list-valued settings (callbacks) that every run sets


@dataclass
class Run:
    """What one run recorded."""

    folder: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)  # flattened: "model.loss.w_l1" -> 0.5
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # key -> (step, value)
    benchmark: dict[str, Any] | None = None

    def best(self, key: str = SCORE) -> float:
        """The best (largest) logged value of a key (nan if never logged)."""
        values = [v for _, v in self.history.get(key, []) if math.isfinite(v)]
        return max(values) if values else math.nan

    def last(self, key: str) -> float:
        """The last logged value of a key (nan if never logged)."""
        values = self.history.get(key, [])
        return values[-1][1] if values else math.nan

    def summary(self) -> dict[str, float]:
        """The figures a table shows: best and last val/score, SSIM/PSNR to clean, the benchmark's means and wins."""
        out = {"best val/score": self.best(SCORE), "last val/score": self.last(SCORE),
               "val/ssim_clean": self.last("val/ssim_clean"), "val/psnr_clean": self.last("val/psnr_clean")}
        for key, value in ((self.benchmark or {}).get("summary") or {}).items():
            if isinstance(value, int | float):
                out[key] = float(value)
        return out


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (lists and scalars are values)."""
    if not isinstance(d, dict):
        return {prefix: d} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_history(path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv as key -> [(step, value)], skipping empty cells; one-line errors naming the file."""
    out: dict[str, list[tuple[int, float]]] = {}
    try:
        if path.stat().st_size > MAX_HISTORY_BYTES:
            raise file_error(path, f"{path.stat().st_size:,} bytes is too big for a metrics history")
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                step = int(float(row.get("step") or 0))
                for key, text in row.items():
                    value = _number(text) if key not in ("step", "epoch") and isinstance(text, str) and text else None
                    if value is not None:
                        out.setdefault(key, []).append((step, value))
    except UnicodeDecodeError:
        raise file_error(path, "not a text file (a metrics history is CSV)") from None
    except (csv.Error, ValueError) as exc:
        raise file_error(path, f"not a readable metrics history ({str(exc).splitlines()[0]})") from None
    return out


def run_files(folder: Path) -> dict[str, Path | None]:
    """The files a run folder holds: its config, history and benchmark (None where missing)."""
    return {"config": next((p for p in (folder / "config.yaml", folder / "csv" / "config.yaml") if p.is_file()), None),
            "history": next((folder / h for h in HISTORY if (folder / h).is_file()), None),
            "benchmark": folder / "benchmark.json" if (folder / "benchmark.json").is_file() else None}


def read_run(folder: str | os.PathLike) -> Run:
    """A run folder's config, history and benchmark (what exists of them), each read with the guards of every config
    seisfuse reads (size, alias bombs); a broken file is a one-line error naming it."""
    folder = Path(folder)
    files = run_files(folder)
    if files["config"] is None:
        raise file_error(folder, "not a seisfuse run folder (no config.yaml)")
    loaded = read_yaml(files["config"])
    if loaded is not None and not isinstance(loaded, dict):
        raise file_error(files["config"], "not a run config (a mapping of sections)")
    history = read_history(files["history"]) if files["history"] else {}
    benchmark = read_json(files["benchmark"]) if files["benchmark"] else None
    if benchmark is not None and not isinstance(benchmark, dict):
        raise file_error(files["benchmark"], "not a benchmark record (a JSON object)")
    return Run(str(folder), f"{folder.parent.name}/{folder.name}", flatten(loaded or {}), history, benchmark)


def read_runs(folders: Iterable[Path]) -> tuple[list[Run], list[str]]:
    """The runs that read, and one line for each broken file of the others (healthy runs are never lost to one)."""
    runs, broken = [], []
    for folder in folders:
        try:
            runs.append(read_run(folder))
        except SeisfuseError as exc:
            broken.append(str(exc))
    return runs, broken


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Run folders at or under the given paths (folders that hold a config.yaml), sorted."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if not p.exists():
            raise file_error(p, "no such folder")
        for cfg in [p / "config.yaml", *p.rglob("config.yaml")]:
            if cfg.is_file():
                run = cfg.parent.parent if cfg.parent.name == "csv" else cfg.parent
                if (run / "checkpoints").is_dir() or any((run / h).is_file() for h in HISTORY):
                    found.add(run)
    if not found:
        raise SeisfuseError(f"no run folders under {', '.join(map(str, paths))} (a run folder holds config.yaml)")
    return sorted(found)


#: Callbacks seisfuse adds by itself where the run was started (plain progress lines off a terminal): no experiment.
ADDED_CALLBACKS = ("seisfuse.training.callbacks.PlainProgress",)


def _without_paths(value: Any) -> Any:
    """value with the per-run folders inside it (e.g. a checkpoint callback's dirpath) and the callbacks seisfuse adds
    by itself left out."""
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items() if k not in PER_RUN_FIELDS}
    if isinstance(value, list):
        return [_without_paths(v) for v in value
                if not (isinstance(v, dict) and v.get("class_path") in ADDED_CALLBACKS)]
    return value


def differing_keys(runs: list[Run], ignore: tuple[str, ...] = IGNORED) -> list[str]:
    """Config keys whose values are not the same in every run (an experiment's knobs)."""
    keys = sorted({k for r in runs for k in r.config})
    return [k for k in keys if not any(k == i or k.startswith(i + ".") for i in ignore)
            and len({json.dumps(_without_paths(r.config.get(k)), sort_keys=True, default=str) for r in runs}) > 1]


def ranked(runs: list[Run]) -> list[Run]:
    """Runs by best val/score, best first (runs without one last)."""
    return sorted(runs, key=lambda r: (-r.best() if math.isfinite(r.best()) else math.inf, r.name))


def table(runs: list[Run], keys: list[str]) -> str:
    """A fixed-width table: one row per run (ranked), the differing config keys, then the truth-referenced scores."""
    runs = ranked(runs)
    figures = list(dict.fromkeys(k for r in runs for k in r.summary()))
    head = ["run", *keys, *figures]
    rows = [[r.name, *(_cell(r.config.get(k)) for k in keys), *(_cell(r.summary().get(f)) for f in figures)]
            for r in runs]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    line = lambda cells: "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "class_path" in v for v in value):
        return "[" + ", ".join(str(v["class_path"]).rsplit(".", 1)[-1] for v in _without_paths(value)) + "]"
    text = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plot(runs: list[Run], out: str | os.PathLike, key: str = SCORE) -> None:
    """A PNG: the validation curve of every run on one plot, and the benchmark's mean scores as bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from seisfuse.evaluation.viz import save_png

    runs = ranked(runs)
    fig = Figure(figsize=(13, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    curves, bars = fig.subplots(1, 2)
    for r in runs:
        points = r.history.get(key, [])
        if points:
            curves.plot([s for s, _ in points], [v for _, v in points], marker="o", ms=3, label=r.name)
    curves.set(xlabel="step", ylabel=key, title=f"{key} (validation, SSIM to clean)")
    curves.legend(fontsize=7)
    means = [(r.name, (r.benchmark or {}).get("summary", {})) for r in runs]
    labels = sorted({k for _, m in means for k in m if k.endswith("ssim_mean")})
    if labels:
        width = 0.8 / max(1, len(runs))
        for i, (name, m) in enumerate(means):
            bars.bar([j + i * width for j in range(len(labels))], [m.get(k, math.nan) for k in labels], width,
                     label=name)
        bars.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))])
        bars.set_xticklabels([k.replace("_ssim_mean", "") for k in labels], rotation=20, fontsize=8)
        bars.set(ylabel="mean SSIM to the reference", title="end-of-run benchmark")
        bars.legend(fontsize=7)
    else:
        bars.text(0.5, 0.5, "no end-of-run benchmark in these runs", ha="center", va="center")
        bars.set_axis_off()
    save_png(fig, out)


def from_wandb(path: str, filters: dict[str, Any] | None = None) -> list[Run]:
    """The runs of a W&B project ('entity/project') through the public API (needs a login and a network)."""
    import wandb

    try:
        api_runs = wandb.Api().runs(path, filters=filters or {})
    except Exception as exc:  # noqa: BLE001 - no login, no network, unknown project
        raise SeisfuseError(f"W&B project {path}: {str(exc).splitlines()[0]}") from None
    out = []
    for r in api_runs:
        history: dict[str, list[tuple[int, float]]] = {}
        for row in r.scan_history(keys=[SCORE, "val/ssim_clean", "val/psnr_clean", "trainer/global_step"]):
            step = int(row.get("trainer/global_step") or row.get("_step") or 0)
            for k in (SCORE, "val/ssim_clean", "val/psnr_clean"):
                if isinstance(row.get(k), int | float):
                    history.setdefault(k, []).append((step, float(row[k])))
        bench = {"summary": {k[len("benchmark/"):]: v for k, v in r.summary.items() if k.startswith("benchmark/")}}
        out.append(Run(r.url, f"{r.group or ''}/{r.name}", flatten(dict(r.config)), history, bench))
    return out
