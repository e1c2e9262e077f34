"""The plan of a predict run: which rank fuses which sections of which file, in what order, with which barriers.

With at least as many files as ranks, each file goes to one rank (file i to rank i mod world)
and that rank owns its output. Otherwise every file's sections are split across the ranks in
contiguous shares of whole storage chunks (no two ranks write one chunk), rank zero owns
the output, and every rank meets the others at a barrier after each pass. A file is fused
in passes (one per section direction: `both` is an inline pass then a crossline pass that
averages into it); a pass is cut into groups of sections that one DataLoader item carries
(a batch, or a block read in one pass over the file along a strided direction).

The plan is stated up front, as a list of :class:`Step` in execution order; each group has
a number, which the dataset returns with its item, so the loop checks that what arrives is
what it expects rather than trusting the loader's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seisfuse.segy import GridVolume


@dataclass
class PlannedFile:
    """One input and its output, with what the plan needs to know about it."""

    index: int
    input: Path
    output: Path
    volume: GridVolume
    axes: list[str]


@dataclass
class Group:
    """Sections of one pass that travel together: one DataLoader item."""

    number: int
    file: int
    axis: str
    sections: list[int]


@dataclass
class Step:
    """This rank's groups of one file and pass, then (sections shared across ranks) a barrier."""

    file: PlannedFile
    axis: str
    average: bool  # a second pass, averaged into the first
    groups: list[Group] = field(default_factory=list)
    sync: bool = False
    first: bool = False  # the file's first pass: its output is created here
    last: bool = False  # the file's last pass: its output is finished here


def split_sections(n_files: int, world: int) -> bool:
    """True when the sections of each file are shared across ranks (fewer files than ranks)."""
    return world > 1 and n_files < world


def works_on(file_index: int, rank: int, world: int, shared: bool) -> bool:
    """True when this rank fuses sections of this file."""
    return shared or file_index % world == rank


def share(volume: GridVolume, axis: str, rank: int, world: int) -> list[int]:
    """This rank's contiguous share of a pass's sections, in whole storage chunks."""
    n, c = volume.n_sections(axis), volume.section_chunk(axis)
    m = -(-n // c)
    return list(range(m * rank // world * c, min(n, m * (rank + 1) // world * c)))


def group_size(volume: GridVolume, axis: str, batch_size: int, block_bytes: int) -> int:
    """Sections per group: a batch, or along a strided direction a block (a multiple of the batch size)."""
    if volume.strided(axis):
        return max(batch_size, volume.block_size(axis, block_bytes) // batch_size * batch_size)
    return batch_size


def schedule(files: list[PlannedFile], rank: int, world: int, batch_size: int, block_bytes: int) -> list[Step]:
    """This rank's steps over the files, in order; a rank with no sections of a shared file still takes its steps."""
    shared = split_sections(len(files), world)
    steps: list[Step] = []
    number = 0
    for f in files:
        if not works_on(f.index, rank, world, shared):
            continue
        for p, axis in enumerate(f.axes):
            ks = share(f.volume, axis, rank, world) if shared else list(range(f.volume.n_sections(axis)))
            size = group_size(f.volume, axis, batch_size, block_bytes)
            step = Step(f, axis, average=p > 0, sync=shared, first=p == 0, last=p == len(f.axes) - 1)
            for i in range(0, len(ks), size):
                step.groups.append(Group(number, f.index, axis, ks[i:i + size]))
                number += 1
            steps.append(step)
    return steps
