"""Fusing volumes: stream every section of one or many files through a fuser into new files.

For each file: open it, estimate its normalization, choose the section directions (`auto`:
along the line, never across a one-trace-wide section), and create the output as a copy
of the input (every header kept) under a temporary name beside the target
(`segy.OutputFile`). DataLoader workers read sections and prepare the branches
while the device fuses them (`fusers`: the same spine as the Python API); fused sections
are written back in the input's amplitude units and the finished output is fsync'ed and
renamed. `both` averages an inline and a crossline pass in the output file (the buffer is
the file, not RAM). Memory holds a few batches.

One device: a plain loop, no Lightning. Several ranks (`devices > 1` on a node, or srun
tasks across `num_nodes`) are joined by Lightning Fabric; who fuses what is the plan
(`plan.py`). A file that fails for any reason (bad input, a normalization it cannot have,
an unreadable or unwritable file, a full disk) is reported and skipped, its temporary
output removed, and the others are still written, except when its sections are shared
across ranks (then the run stops). Existing outputs are skipped with `skip_existing`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seisfuse.branches import Branches
from seisfuse.errors import SeisfuseError, SettingError, describe_failure
from seisfuse.files import check_output
from seisfuse.inference.fusers import Fuser, check_precision, prepare, restore
from seisfuse.inference.plan import Group, PlannedFile, Step, schedule, split_sections, works_on
from seisfuse.inference.ranks import FabricRanks, Ranks
from seisfuse.inference.tiles import DEFAULT_TILING, Tiling
from seisfuse.progress import Progress
from seisfuse.segy import AXIS_CHOICES, HeaderBytes, OutputFile, check_axis_choice, open_volume


@dataclass
class PredictOptions:
    """How files are fused (the library's names; the CLI maps its flags onto them)."""

    axis: str = "auto"
    batch_size: int = 4
    num_workers: int = 2
    tiling: Tiling = DEFAULT_TILING
    precision: str = "32"
    block_mb: int = 128  # strided sections (e.g. crosslines of an inline-sorted file) are read in blocks this big
    force: bool = False
    skip_existing: bool = False
    header_bytes: HeaderBytes | None = None

    def __post_init__(self) -> None:
        check_axis_choice(self.axis)
        check_precision(self.precision)
        for name, ok, rule in (("batch_size", self.batch_size >= 1, ">= 1"), ("num_workers", self.num_workers >= 0, ">= 0"),
                               ("block_mb", self.block_mb >= 1, ">= 1")):
            if not ok:
                raise SettingError(name, f"must be {rule}, got {getattr(self, name)}")


@dataclass
class FileResult:
    """What happened to one input: written, skipped (output exists) or failed (the error)."""

    input: Path
    output: Path
    status: str
    sections: int = 0
    seconds: float = 0.0
    clip: float = math.nan
    axes: list[str] = field(default_factory=list)
    error: str | None = None
    setting: str | None = None  # the argument a SettingError named
    exit_code: int = 0


def failed(input_path: Path, output: Path, exc: BaseException) -> FileResult:
    """The result of a file that failed with exc, in one line that names the file."""
    message, setting, code = describe_failure(exc, input_path, output)
    return FileResult(input_path, output, "failed", error=message, setting=setting, exit_code=code)


class SectionDataset(Dataset):
    """Groups of whole sections as prepared batches of branches, numbered as the plan numbered them.

    Along a strided direction a group is a block read in one pass over the file (GridVolume.section_block).
    A group that cannot be read comes back with its error instead of ending the whole loader.
    """

    def __init__(self, branches: dict[int, Branches], volumes: dict[int, Any], groups: Sequence[Group]) -> None:
        self.branches = branches
        self.volumes = volumes
        self.groups = list(groups)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> dict[str, Any]:
        g = self.groups[i]
        volume = self.volumes[g.file]
        try:
            if volume.strided(g.axis):
                sections = list(volume.section_block(g.axis, g.sections))
            else:
                sections = [volume.section(g.axis, k) for k in g.sections]
            nonfinite = sum(int((~np.isfinite(s)).sum()) for s in sections)
            return {"group": g.number, "nonfinite": nonfinite, **prepare(sections, self.branches[g.file])}
        except Exception as exc:  # noqa: BLE001 - reported against its file by the loop
            return {"group": g.number, "error": describe_failure(exc, volume.path)}


def precheck(jobs: Sequence[tuple[str | os.PathLike, str | os.PathLike]], options: PredictOptions,
             reads: Sequence[str | os.PathLike] = ()) -> list[SeisfuseError]:
    """What stops each job before any model is loaded: its output (a read file, a folder, existing), its input (missing,
    a folder, not SEG-Y or MDIO); the errors, one per failing job, in order. Reads headers only."""
    problems: list[SeisfuseError] = []
    for a, b in jobs:
        if Path(b).exists() and options.skip_existing and not options.force:
            continue
        try:
            check_output(b, [a, *reads], force=options.force)
            with open_volume(a, options.header_bytes) as volume:
                volume.check_output_name(b)
                volume.fusion_axes(options.axis)
        except SeisfuseError as exc:
            problems.append(exc)
    return problems


def check_devices(device: str, devices: int, num_nodes: int = 1) -> None:
    """Say, in one note, that several ranks on a machine without a GPU are CPU processes sharing its cores."""
    if devices > 1 and device != "cuda" and not torch.cuda.is_available():
        import logging

        logging.getLogger("seisfuse").warning(
            "--devices %d on a machine without a GPU starts %d CPU processes that share its %d cores: usually slower "
            "than --devices 1", devices, devices, os.cpu_count() or 1)


def resolve_device(device: str) -> torch.device:
    """The torch device of auto, cpu or cuda."""
    if device not in ("auto", "cpu", "cuda"):
        raise SettingError("device", f"must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise SettingError("device", "cuda: no CUDA device is available on this machine")
    return torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")


@dataclass
class _Run:
    """One file during a run: its branches, output and counters."""

    planned: PlannedFile
    branches: Branches | None = None
    output: OutputFile | None = None
    owner: bool = False
    started: float = 0.0
    done: int = 0
    nonfinite: int = 0  # NaN or Inf samples read (as zero amplitude)
    result: FileResult | None = None


class Predictor:
    """Fuse many files with one fuser: one start-up, one model load, one progress bar."""

    def __init__(self, fuser: Fuser, options: PredictOptions | None = None, *, device: str = "auto", devices: int = 1,
                 num_nodes: int = 1, slurm: bool = False, progress: bool = True, verbose: bool = False,
                 on_file: Callable[[FileResult], None] | None = None, reads: Sequence[str | os.PathLike] = ()) -> None:
        """reads: files the run reads besides the inputs (configs); no output may be one of them, nor the model."""
        self.fuser = fuser
        self.reads = [Path(p) for p in reads] + ([fuser.source] if fuser.source is not None else [])
        self.options = options or PredictOptions()
        if devices < 1 or num_nodes < 1:
            raise SettingError("devices" if devices < 1 else "num_nodes", "must be >= 1")
        dev = resolve_device(device)
        if devices == 1 and num_nodes == 1:
            self.ranks: Ranks = Ranks()
            self.device = dev
        else:
            self.ranks = FabricRanks("gpu" if dev.type == "cuda" else "cpu", devices, num_nodes, slurm, verbose)
            self.device = self.ranks.device
        fuser.to(self.device)
        self.progress = progress and self.ranks.is_zero
        self.on_file = on_file

    # -------------------------------------------------------- opening
    def _open(self, index: int, input_path: Path, output: Path) -> PlannedFile | FileResult:
        """The file ready to plan, or why not (skipped, failed)."""
        o = self.options
        if output.exists() and o.skip_existing and not o.force:
            return FileResult(input_path, output, "skipped")
        volume = None
        try:
            check_output(output, [input_path, *self.reads], force=o.force)
            volume = open_volume(input_path, o.header_bytes)
            volume.check_output_name(output)
            return PlannedFile(index, input_path, output, volume, volume.fusion_axes(o.axis))
        except Exception as exc:  # noqa: BLE001 - any failure of one file is reported and the others go on
            if volume is not None:
                volume.close()
            return failed(input_path, output, exc)

    def run(self, jobs: Sequence[tuple[str | os.PathLike, str | os.PathLike]]) -> list[FileResult]:
        """Fuse input -> output for every job; returns one result per job (this rank's view)."""
        pairs = [(Path(a), Path(b)) for a, b in jobs]
        outputs = [b.resolve() for _, b in pairs]
        results: list[FileResult | None] = [None] * len(pairs)
        planned: list[PlannedFile] = []
        for i, (a, b) in enumerate(pairs):
            if outputs.count(b.resolve()) > 1:
                results[i] = FileResult(a, b, "failed", error=f"{b}: more than one input writes it", exit_code=1)
                continue
            opened = self._open(i, a, b)
            if isinstance(opened, FileResult):
                results[i] = opened
            else:
                planned.append(opened)
        world, rank = self.ranks.world_size, self.ranks.rank
        shared = split_sections(len(planned), world)
        runs: dict[int, _Run] = {}
        for f in planned:
            run = runs[f.index] = _Run(f, owner=self.ranks.is_zero if shared else works_on(f.index, rank, world, shared))
            if works_on(f.index, rank, world, shared):  # every rank of a shared file fits the same clip (deterministic)
                try:
                    run.branches = Branches.of_volume(self.fuser.settings, f.volume)
                except Exception as exc:  # noqa: BLE001 - this file fails, the others go on
                    if shared:
                        raise
                    run.result = failed(f.input, f.output, exc)
        steps = schedule([f for f in planned if runs[f.index].result is None], rank, world, self.options.batch_size,
                         self.options.block_mb * 2**20)
        try:
            self._fuse(steps, runs, shared)
        finally:
            for run in runs.values():
                if run.output is not None:
                    run.output.abandon()
                run.planned.volume.close()
        for f in planned:
            results[f.index] = runs[f.index].result or FileResult(f.input, f.output, "written by another rank")
        return [r for r in results if r is not None]

    # -------------------------------------------------------- fusing
    def _loader(self, steps: list[Step], runs: dict[int, _Run]) -> Iterator[dict[str, Any]]:
        groups = [g for s in steps for g in s.groups]
        if not groups:
            return iter(())
        dataset = SectionDataset({i: r.branches for i, r in runs.items() if r.branches is not None},
                                 {i: r.planned.volume for i, r in runs.items()}, groups)
        workers = self.options.num_workers if len(groups) > 1 else 0
        return iter(DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                               pin_memory=self.device.type == "cuda"))

    def _fuse(self, steps: list[Step], runs: dict[int, _Run], shared: bool) -> None:
        items = self._loader(steps, runs)
        bar = self._bar(sum(len(g.sections) for s in steps for g in s.groups))
        for step in steps:  # a step with no groups still takes part in its barrier
            run = runs[step.file.index]
            for group in step.groups:
                item = next(items)
                if item["group"] != group.number:
                    raise RuntimeError(f"section loader out of order: got group {item['group']}, expected {group.number}")
                if run.result is None:
                    try:
                        if step.first and run.output is None:
                            self._start(run, shared)
                        if "error" in item:
                            raise SeisfuseError(item["error"][0])
                        self._write_group(run, step, group, item)
                    except Exception as exc:  # noqa: BLE001 - this file fails; the loader goes on for the others
                        if shared:
                            raise
                        self._fail(run, exc)
                if bar is not None:
                    bar.update(len(group.sections))
            if not step.groups and step.first and run.result is None:
                self._start(run, shared)
            if step.sync:
                self.ranks.barrier()
            if step.last and run.result is None:
                try:
                    self._finish(run)
                except Exception as exc:  # noqa: BLE001
                    if shared:
                        raise
                    self._fail(run, exc)
        if bar is not None:
            bar.close()

    def _bar(self, total: int) -> Progress | None:
        """A bar on a terminal, plain lines with the ETA elsewhere (a SLURM .out file), on rank zero."""
        if not self.progress or total == 0:
            return None
        label = "fusing" if self.ranks.world_size == 1 else f"fusing (rank 0 of {self.ranks.world_size})"
        return Progress(total, label, unit="section")

    def _start(self, run: _Run, shared: bool) -> None:
        """Create the file's output (its owner), or attach to rank zero's (sections shared across ranks)."""
        f = run.planned
        run.started = time.perf_counter()
        if run.owner:
            run.output = OutputFile.create(f.volume, f.output)
        if shared:
            tmp = self.ranks.broadcast(str(run.output.tmp) if run.output is not None else None)
            if run.output is None:
                run.output = OutputFile.attach(f.volume, f.output, tmp)

    def _write_group(self, run: _Run, step: Step, group: Group, item: dict[str, Any]) -> None:
        """Fuse a group's sections batch by batch and write them (averaged into the first pass on a second one)."""
        o, out = self.options, run.output.volume
        if not step.average:  # a second pass reads the same samples again
            run.nonfinite += int(item.get("nonfinite", 0))
        for a in range(0, len(group.sections), o.batch_size):
            fused = self.fuser.forward(item["inputs"][a:a + o.batch_size], o.tiling, o.precision)
            amps = restore(fused, run.branches.normalizer, item["dead"][a:a + o.batch_size].numpy())
            for k, amp in zip(group.sections[a:a + o.batch_size], amps, strict=True):
                if step.average:
                    amp = 0.5 * (amp + out.section(step.axis, k))
                out.write_section(step.axis, k, amp)
                run.done += 1
        out.flush()

    def _finish(self, run: _Run) -> None:
        """Close the output; its owner fsyncs and renames it, and reports the file."""
        f = run.planned
        run.output.finish()
        run.output = None
        if run.nonfinite:
            import logging

            logging.getLogger("seisfuse").warning(
                "%s: %d NaN or Inf samples (%s) were read as zero amplitude; the fused values there are written",
                f.input, run.nonfinite, "this rank's share" if not run.owner else "all sections")
        if run.owner:
            n = sum(f.volume.n_sections(a) for a in f.axes)
            run.result = FileResult(f.input, f.output, "written", n, time.perf_counter() - run.started,
                                    run.branches.normalizer.clip, list(f.axes))
            if self.on_file is not None:
                self.on_file(run.result)
        else:
            run.result = FileResult(f.input, f.output, "written by another rank", run.done)

    def _fail(self, run: _Run, exc: BaseException) -> None:
        """Record a file's failure and remove its unfinished output."""
        if run.output is not None:
            run.output.abandon()
            run.output = None
        run.result = failed(run.planned.input, run.planned.output, exc)


def predict_volume(fuser: Fuser, input_path: str | os.PathLike, output_path: str | os.PathLike, *,
                   device: str = "cpu", progress: bool = False, **options: Any) -> FileResult:
    """Fuse one file (the Python form of `seisfuse predict --input IN --output OUT`); raises on bad input."""
    (result,) = Predictor(fuser, PredictOptions(**options), device=device, progress=progress).run(
        [(input_path, output_path)])
    if result.status == "failed":
        if result.setting:
            raise SettingError(result.setting, result.error)
        raise SeisfuseError(result.error)
    return result


__all__ = ["AXIS_CHOICES", "FileResult", "PredictOptions", "Predictor", "SectionDataset", "predict_volume"]
