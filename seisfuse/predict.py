"""Fusing volumes: stream every section of one or many SEG-Y files through a fuser into new SEG-Y files.

For each file: open it, estimate its normalization, choose the section directions (`auto`:
along the line, never across a one-trace-wide section), and create the output as a copy
of the input (every header kept) under a temporary name beside the target. Sections are
read, paired (raw, edge) and fused in batches: DataLoader workers prepare the next
sections while the device fuses; sections larger than `tile` are fused in overlapping
tiles blended with smooth weights; results are mapped back to the input's amplitude
units, dead traces stay zero, and each section's traces are written into the output.
`both` averages an inline and a crossline pass in the output file (the buffer is the
file, not RAM). A finished output is fsync'ed and renamed; memory holds a few batches.

One device: a plain loop, no Lightning. Several ranks (`devices > 1` on a node, or srun
tasks across `num_nodes`), joined by Lightning Fabric: with at least as many files as
ranks, the files are split across ranks; otherwise the sections of each file are, each
rank writing only its own traces into the output that rank zero created and renames
when every rank is done. A file that fails (bad input) is reported and skipped; the
others are still written. Existing outputs are skipped with `skip_existing` (requeued
jobs), and temporary files an interrupted run left are removed.
"""

from __future__ import annotations

import contextlib
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
from seisfuse.errors import SeisfuseError, SettingError, file_error
from seisfuse.files import check_output, finish_output, remove_part, remove_stale_parts, temp_path_for
from seisfuse.fusers import Fuser, tiled
from seisfuse.normalize import dead_traces, fit_normalizer
from seisfuse.ranks import FabricRanks, Ranks
from seisfuse.segy import GridVolume, HeaderBytes, create_output, is_mdio, open_volume, reopen_output

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}


# ---------------------------------------------------------------- the plan: files, passes, batches
@dataclass
class PredictOptions:
    """How files are fused (the library's names; the CLI maps its flags onto them)."""

    axis: str = "auto"
    batch_size: int = 4
    num_workers: int = 2
    tile: int = 1024  # sections larger than this are fused in overlapping tiles
    overlap: int = 64
    precision: str = "32"
    block_mb: int = 128  # strided sections (e.g. crosslines of an inline-sorted file) are read in blocks this big
    force: bool = False
    skip_existing: bool = False
    header_bytes: HeaderBytes | None = None

    def __post_init__(self) -> None:
        if self.axis not in ("auto", "inline", "crossline", "both"):
            raise SettingError("axis", f"must be auto, inline, crossline or both, got {self.axis!r}")
        if self.precision not in PRECISIONS:
            raise SettingError("precision", f"must be 32, bf16 or 16, got {self.precision!r}")
        for name, ok, rule in (("batch_size", self.batch_size >= 1, ">= 1"), ("num_workers", self.num_workers >= 0, ">= 0"),
                               ("tile", self.tile >= 16, ">= 16"),
                               ("overlap", 0 <= self.overlap < self.tile // 2, f"in [0, tile / 2 = {self.tile // 2})")):
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


@dataclass
class _File:
    """One input on its way to its output."""

    index: int
    input: Path
    output: Path
    volume: GridVolume | None = None
    branches: Branches | None = None
    axes: list[str] = field(default_factory=list)
    tmp: Path | None = None
    out: Any = None  # the output being written (SEG-Y or MDIO)
    result: FileResult | None = None
    started: float = 0.0
    todo: int = 0
    owner: bool = False  # this rank creates, renames and reports the output


class SectionDataset(Dataset):
    """Groups of whole sections (file, axis, indices) as normalized (raw, edge) pairs with dead-trace masks.

    A group is a batch of sections, or, along a strided axis (crosslines of an inline-sorted SEG-Y file), a
    block read in one pass over the file (GridVolume.section_block), so a crossline pass over a file larger
    than memory reads it once per block, not once per section.
    """

    def __init__(self, files: Sequence[_File], groups: Sequence[tuple[int, str, list[int]]]) -> None:
        self.files = {f.index: (f.volume, f.branches) for f in files if f.volume is not None}
        self.groups = list(groups)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> dict[str, Any]:
        f, axis, ks = self.groups[i]
        volume, branches = self.files[f]
        sections = volume.section_block(axis, ks) if volume.strided(axis) else [volume.section(axis, k) for k in ks]
        raws, edges, deads = [], [], []
        for section in sections:
            raw, edge = branches.pair(section)
            raws.append(raw)
            edges.append(edge)
            deads.append(dead_traces(section))
        return {"group": i, "raw": torch.from_numpy(np.stack(raws))[:, None],
                "edge": torch.from_numpy(np.stack(edges))[:, None], "dead": torch.from_numpy(np.stack(deads))}


@dataclass
class _Step:
    """The groups of sections of one (file, pass) this rank fuses, then optionally a barrier."""

    file: _File
    axis: str
    average: bool
    groups: list[list[int]]
    sync: bool
    last: bool  # the file's last pass


def _resolve_device(device: str) -> torch.device:
    if device not in ("auto", "cpu", "cuda"):
        raise SettingError("device", f"must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise SettingError("device", "cuda: no CUDA device is available on this machine")
    return torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")


class Predictor:
    """Fuse many files with one fuser: one start-up, one model load, one progress bar."""

    def __init__(self, fuser: Fuser, options: PredictOptions | None = None, *, device: str = "auto", devices: int = 1,
                 num_nodes: int = 1, slurm: bool = False, progress: bool = True, verbose: bool = False,
                 on_file: Callable[[FileResult], None] | None = None) -> None:
        self.fuser = fuser
        self.options = options or PredictOptions()
        if devices < 1 or num_nodes < 1:
            raise SettingError("devices" if devices < 1 else "num_nodes", "must be >= 1")
        dev = _resolve_device(device)
        if devices == 1 and num_nodes == 1:
            self.ranks: Ranks = Ranks()
            self.device = dev
        else:
            self.ranks = FabricRanks("gpu" if dev.type == "cuda" else "cpu", devices, num_nodes, slurm, verbose)
            self.device = self.ranks.device
        if fuser.module is not None:
            fuser.module.to(self.device).eval()
        self.progress = progress and self.ranks.is_zero
        self.on_file = on_file

    # -------------------------------------------------------- planning
    def _open(self, f: _File) -> None:
        """Open the input and check the output (failures are recorded on the file, not raised)."""
        o = self.options
        try:
            if f.output.exists() and o.skip_existing and not o.force:
                f.result = FileResult(f.input, f.output, "skipped")
                return
            check_output(f.output, [f.input], force=o.force)
            f.volume = open_volume(f.input, o.header_bytes)
            if is_mdio(f.input) != is_mdio(f.output):
                raise file_error(f.output, "an MDIO input is written as MDIO and SEG-Y as SEG-Y: name the output "
                                           + ("*.mdio" if is_mdio(f.input) else "*.sgy"))
            f.axes = f.volume.fusion_axes(o.axis)
        except SeisfuseError as exc:
            f.result = FileResult(f.input, f.output, "failed", error=getattr(exc, "problem", str(exc)),
                                  setting=getattr(exc, "name", None), exit_code=exc.exit_code)
            if f.volume is not None:
                f.volume.close()
                f.volume = None

    def _schedule(self, files: list[_File], split_sections: bool) -> list[_Step]:
        """This rank's groups of sections: per file and pass, the sections it fuses, in order."""
        world, rank, bs = self.ranks.world_size, self.ranks.rank, self.options.batch_size
        steps = []
        for f in files:
            mine = split_sections or f.index % world == rank
            for p, axis in enumerate(f.axes):
                n = f.volume.n_sections(axis)
                if split_sections:  # contiguous shares of whole chunk rows: no two ranks write one chunk
                    c = f.volume.section_chunk(axis)
                    m = -(-n // c)
                    ks = list(range(m * rank // world * c, min(n, m * (rank + 1) // world * c)))
                else:
                    ks = list(range(n)) if mine else []
                if not ks and not split_sections:
                    continue
                size = bs
                if f.volume.strided(axis):
                    size = max(bs, f.volume.block_size(axis, self.options.block_mb * 2**20) // bs * bs)
                steps.append(_Step(f, axis, p > 0, [ks[i:i + size] for i in range(0, len(ks), size)],
                                   split_sections, p == len(f.axes) - 1))
        return steps

    # -------------------------------------------------------- running
    def run(self, jobs: Sequence[tuple[str | os.PathLike, str | os.PathLike]]) -> list[FileResult]:
        """Fuse input -> output for every job; returns one result per job (this rank's view)."""
        files = [_File(i, Path(a), Path(b)) for i, (a, b) in enumerate(jobs)]
        outputs = [f.output.resolve() for f in files]
        for f in files:
            if outputs.count(f.output.resolve()) > 1:
                f.result = FileResult(f.input, f.output, "failed", error=f"{f.output}: more than one input writes it",
                                      exit_code=1)
            else:
                self._open(f)
        live = [f for f in files if f.result is None]
        split_sections = self.ranks.world_size > 1 and len(live) < self.ranks.world_size
        for f in live:
            works_here = split_sections or f.index % self.ranks.world_size == self.ranks.rank
            f.owner = self.ranks.is_zero if split_sections else works_here
            if works_here:  # every rank of a shared file normalizes it the same way (the clip is deterministic)
                f.branches = Branches(self.fuser.settings, fit_normalizer(f.volume, self.fuser.settings.clip_percentile))
        steps = self._schedule(live, split_sections)
        try:
            self._fuse(steps, live)
        finally:
            for f in live:
                self._abandon(f)
                if f.volume is not None:
                    f.volume.close()
        for f in files:  # files this rank had nothing to do with were written by another rank
            if f.result is None:
                f.result = FileResult(f.input, f.output, "written by another rank")
        return [f.result for f in files]

    def _fuse(self, steps: list[_Step], live: list[_File]) -> None:
        o = self.options
        groups = [(s.file.index, s.axis, ks) for s in steps for ks in s.groups]
        dataset = SectionDataset(live, groups)
        loader = DataLoader(dataset, batch_size=None, shuffle=False, pin_memory=self.device.type == "cuda",
                            num_workers=o.num_workers if len(groups) > 1 else 0) if groups else None
        items: Iterator[dict[str, Any]] = iter(loader) if loader is not None else iter(())
        bar = self._bar(sum(len(ks) for _, _, ks in groups))
        current: _File | None = None
        for step in steps:  # a step with no groups still takes part in its barrier
            f = step.file
            if f is not current:
                self._start(f, step)
                current = f
            for ks in step.groups:
                item = next(items)
                for a in range(0, len(ks), o.batch_size):  # forward batches of a group (a block is several)
                    fused = self._forward(item["raw"][a:a + o.batch_size], item["edge"][a:a + o.batch_size])
                    for i, k in enumerate(ks[a:a + o.batch_size]):
                        self._write(f, step.axis, k, fused[i], item["dead"][a + i].numpy(), step.average)
                if bar is not None:
                    bar.update(len(ks))
            if f.out is not None:
                f.out.flush()
            if step.sync:
                self.ranks.barrier()
            if step.last:
                self._finish(f)
        if bar is not None:
            bar.close()

    def _bar(self, total: int):  # noqa: ANN202 - tqdm or None
        if not self.progress or total == 0:
            return None
        from tqdm.auto import tqdm

        label = "sections" if self.ranks.world_size == 1 else f"sections (rank 0 of {self.ranks.world_size})"
        return tqdm(total=total, desc=label, unit="section", leave=False, disable=None)

    def _forward(self, raw: torch.Tensor, edge: torch.Tensor) -> np.ndarray:
        """Fused (B, H, W) in [0, 1] on the CPU."""
        raw = raw.to(self.device, non_blocking=True)
        edge = edge.to(self.device, non_blocking=True)
        dtype = PRECISIONS[self.options.precision]
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            out = tiled(self.fuser.fn, raw, edge, self.options.tile, self.options.overlap)
        return out.float().clamp(0.0, 1.0)[:, 0].cpu().numpy()

    def _start(self, f: _File, step: _Step) -> None:
        """Create the file's output (rank zero, or the owning rank) and open it for writing here."""
        f.started = time.perf_counter()
        if f.owner:
            remove_stale_parts(f.output)
            f.tmp = temp_path_for(f.output, folder=is_mdio(f.input))
            create_output(f.volume, f.tmp).close()
        if step.sync:  # sections of this file are split across ranks: they all write into rank zero's output
            f.tmp = Path(self.ranks.broadcast(str(f.tmp) if f.tmp else None))
        f.out = reopen_output(f.tmp, f.volume)

    def _write(self, f: _File, axis: str, k: int, fused: np.ndarray, dead: np.ndarray, average: bool) -> None:
        amp = f.branches.normalizer.inverse(fused)
        amp[:, dead] = 0.0
        if average:
            amp = 0.5 * (amp + f.out.section(axis, k))
        f.out.write_section(axis, k, amp)
        f.todo += 1

    def _finish(self, f: _File) -> None:
        """Close the output; its owner fsyncs and renames it, and reports the file."""
        f.out.close()
        f.out = None
        n = sum(f.volume.n_sections(a) for a in f.axes)
        if f.owner:
            finish_output(f.tmp, f.output)
            f.result = FileResult(f.input, f.output, "written", n, time.perf_counter() - f.started,
                                  f.branches.normalizer.clip, list(f.axes))
            if self.on_file is not None:
                self.on_file(f.result)
        else:
            f.result = FileResult(f.input, f.output, "written by another rank", f.todo)
        f.tmp = None

    def _abandon(self, f: _File) -> None:
        """Remove an unfinished output (interrupted or failed run)."""
        if f.out is not None:
            with contextlib.suppress(Exception):
                f.out.close()
            f.out = None
        if f.tmp is not None and f.owner:
            remove_part(f.tmp)
        f.tmp = None


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
