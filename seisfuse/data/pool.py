"""A pool of whole sections with every branch computed once and cached on disk, and the patches cropped from it.

Classical denoisers' branches (BM3D takes seconds per section and looks far beyond a patch) are
never computed per training patch. The pool holds whole sections, each with its noise-free
reference, and, to adapt a model to a survey without clean data, that survey's own sections:

* **synthetic** sections drawn from `SynthRanges` (`sections` of `size`, seeded);
* **semi-real** sections: real lines that are not evaluation references (`real_files`, e.g.
  `../shared/realtrain/*.sgy`), each as it is and resampled to `real_dt_ms`, with `real_copies`
  seeded noisy copies (`real_noise` kinds at a noise / signal RMS ratio drawn log-uniformly in
  `real_ratios`): the line is the reference, as in the semi-real evaluation protocol, so the
  branches' errors in training look like their errors on real data.

Each section is normalized as inference normalizes (synthetic: its own clip times a seeded
jitter; real: the noisy copy's clip over its live traces), then every branch of the model
(`branches.Branches.images`), the edge branch of the reference and the fault mask are saved
as one ``.npz`` per section in ``<cache_dir>/pool-<key>/``, named by everything that
made them (the branch settings and the denoisers' tuned parameters name the folder; each file is
named by what made its section: a synthetic section's seed and settings, a semi-real copy's file,
size and time, interval and noise), so pools of different sizes share what they have in common.
Building is resumable (finished sections are kept), runs in `workers`
processes and prints progress with an ETA; every DDP rank and every later run with the same
settings reads the same files. The patches cut from the pool are `pool_patches.py`'s.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from seisfuse.branches import EDGE, Branches, BranchSettings, stack_branches
from seisfuse.normalize import jittered_normalizer, normalizer_from_traces
from seisfuse.synth.survey import SynthRanges, make_survey

POOL_VERSION = 1
#: Seed offset of the pool's validation sections: other seeds than any training section.
VALIDATION_OFFSET = 7_000_003


@dataclass
class Pool:
    """Whole sections with their branches, cached (keys under `data.pool`)."""

    sections: int = 512  # synthetic sections
    patches_per_epoch: int = 4096  # training patches cut from the pool every epoch
    size: tuple[int, int] = (160, 160)  # samples x traces of a synthetic section
    seed: int = 0
    ranges: SynthRanges = field(default_factory=SynthRanges)
    clip_jitter: float = 0.15  # log-normal spread of a synthetic section's clip around its own
    real_files: list[str] = field(default_factory=list)  # real lines (never evaluation references): semi-real sections
    real_copies: int = 8  # noisy copies of each real line (and of its resampled copy)
    real_dt_ms: list[float] = field(default_factory=list)  # also resample each real line to these intervals
    real_noise: tuple[str, ...] = ("white", "band")
    real_ratios: tuple[float, float] = (0.05, 1.2)  # noise RMS / signal RMS, drawn log-uniformly
    real_fraction: float = 0.5  # share of training patches cut from semi-real sections (when there are any)
    survey_files: list[str] = field(default_factory=list)  # a survey to adapt to, noisy only: blind-spot sections
    survey_sections: int = 16  # sections of each survey file, spread evenly (a fixed cost whatever its size)
    survey_fraction: float = 0.5  # share of training patches from the survey (the rest: clean-referenced anchors)
    val_sections: int = 32  # synthetic validation sections (other seeds)
    cache_dir: str | None = None  # default: data.cache_dir, else ~/.cache/seisfuse
    workers: int = 2  # processes building the cache

    def __post_init__(self) -> None:
        if isinstance(self.ranges, dict):
            self.ranges = SynthRanges(**self.ranges)
        self.size = tuple(int(v) for v in self.size)
        self.real_noise = tuple(self.real_noise)
        self.real_ratios = tuple(float(v) for v in self.real_ratios)
        self.real_dt_ms = [float(v) for v in self.real_dt_ms]
        from seisfuse.files import expand_paths
        from seisfuse.synth.noise import KINDS

        self.real_files = expand_paths(self.real_files, "data.pool.real_files", must_exist=True)
        self.survey_files = expand_paths(self.survey_files, "data.pool.survey_files", must_exist=True)

        checks = (("sections", self.sections >= 0, ">= 0"), ("patches_per_epoch", self.patches_per_epoch >= 1, ">= 1"),
                  ("val_sections", self.val_sections >= 0, ">= 0"),
                  ("size", len(self.size) == 2 and min(self.size) >= 16, "two sizes >= 16"),
                  ("real_copies", self.real_copies >= 1, ">= 1"), ("workers", self.workers >= 1, ">= 1"),
                  ("clip_jitter", self.clip_jitter >= 0, ">= 0"),
                  ("real_fraction", 0.0 <= self.real_fraction <= 1.0, "in [0, 1]"),
                  ("survey_fraction", 0.0 <= self.survey_fraction <= 1.0, "in [0, 1]"),
                  ("survey_sections", self.survey_sections >= 1, ">= 1"),
                  ("real_ratios", len(self.real_ratios) == 2 and 0 < self.real_ratios[0] <= self.real_ratios[1],
                   "[low, high] with 0 < low <= high"),
                  ("real_noise", bool(self.real_noise) and all(k in KINDS for k in self.real_noise),
                   f"some of {', '.join(KINDS)}"),
                  ("real_dt_ms", all(v > 0 for v in self.real_dt_ms), "positive sample intervals"))
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"data.pool.{name} must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Job:
    """One section of the pool to build: synthetic (seed), a noisy copy of a real line, or a survey's own section."""

    index: int
    kind: str  # "synthetic", "real" or "survey"
    seed: int
    path: str = ""  # a real line or a survey file
    dt_ms: float = 0.0  # resample the real line to this interval (0: as it is)
    axis: str = ""  # a survey section's direction and index
    section: int = 0


def _file_id(path: str) -> str:
    """A real file's identity in the cache key: its resolved path, size and modification time."""
    st = Path(path).stat()
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _digest(content: object) -> str:
    """A short hash of plain data."""
    return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]


def branches_key(settings: BranchSettings) -> str:
    """What every cached section depends on: the branch settings and the denoisers' parameters (the folder's key)."""
    from seisfuse import denoisers

    tuned = {n: dict(denoisers.get(n).tuned) for n in settings.denoisers}
    return _digest({"v": POOL_VERSION, "branches": settings.to_dict(), "tuned": tuned})


def job_name(job: Job, pool: Pool) -> str:
    """The cached file of one section, named by everything that makes it: a synthetic section by its seed and the
    synthetic settings, a semi-real one by its file (path, size, time), interval, copy and noise settings. Pools of
    different sizes, splits and mixes share the sections they have in common."""
    if job.kind == "synthetic":
        return "synthetic-" + _digest({"seed": job.seed, "size": pool.size, "ranges": asdict(pool.ranges),
                                       "clip_jitter": pool.clip_jitter})
    if job.kind == "survey":
        return "survey-" + _digest({"file": _file_id(job.path), "axis": job.axis, "section": job.section})
    return "real-" + _digest({"file": _file_id(job.path), "dt": job.dt_ms, "seed": job.seed, "noise": pool.real_noise,
                              "ratios": pool.real_ratios})


def default_cache_dir() -> Path:
    """~/.cache/seisfuse (or $XDG_CACHE_HOME/seisfuse)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seisfuse"


def plan_jobs(pool: Pool, split: str) -> list[Job]:
    """The sections of the training or validation pool, in a fixed order."""
    if split == "val":
        return [Job(i, "synthetic", pool.seed + VALIDATION_OFFSET + i) for i in range(pool.val_sections)]
    jobs = [Job(i, "synthetic", pool.seed + i) for i in range(pool.sections)]
    for path in pool.real_files:
        for dt in [0.0, *pool.real_dt_ms]:
            for c in range(pool.real_copies):
                jobs.append(Job(len(jobs), "real", pool.seed * 1000 + c, path, dt))
    for path in pool.survey_files:
        from seisfuse.segy import open_volume

        with open_volume(path) as vol:
            axis = vol.fusion_axes("auto")[0]
            n = vol.n_sections(axis)
        for k in sorted({int(round(x)) for x in np.linspace(0, n - 1, num=min(n, pool.survey_sections))}):
            jobs.append(Job(len(jobs), "survey", 0, path, axis=axis, section=k))
    return jobs


def _real_line(path: str, dt_ms: float) -> tuple[np.ndarray, float]:
    """A real line as (samples, traces) amplitudes (all of a 2D file's traces, a 3D file's first inline), resampled
    to dt_ms when given; and its sample interval."""
    from seisfuse.segy import open_volume

    with open_volume(path) as vol:
        section, dt = vol.section(vol.fusion_axes("auto")[0], 0), vol.dt_ms
    if dt_ms and abs(dt_ms - dt) > 1e-6:
        from seisfuse.synth.noise import resample_time

        section, dt = resample_time(section, dt, dt_ms, axis=0), dt_ms
    return section, dt


def build_section(job: Job, settings: BranchSettings, pool: Pool) -> dict[str, np.ndarray]:
    """The arrays of one pool section: every branch (N, H, W), the edge branch, the reference, its edge branch and
    the fault mask, all in [0, 1] with the section's normalization."""
    rng = np.random.default_rng([job.seed, 17])
    if job.kind == "survey":  # noisy only: every branch of the section as it is (blind-spot masks are drawn later)
        from seisfuse.branches import fit_normalizer
        from seisfuse.segy import open_volume

        with open_volume(job.path) as vol:
            branches = Branches(settings, fit_normalizer(vol, settings.clip_percentile))
            images = branches.images(vol.section(job.axis, job.section))
        return {"inputs": stack_branches(settings.branches, images), "edge": images[EDGE]}
    if job.kind == "synthetic":
        h, w = pool.size
        survey = make_survey(pool.ranges.draw(rng, 1, w, h))
        noisy, clean, fault = survey.seismic[0].T, survey.clean[0].T, survey.fault_mask[0].T
        normalizer = jittered_normalizer(noisy, settings.clip_percentile, pool.clip_jitter, rng)
    else:
        from seisfuse.synth.noise import add_noise

        clean, dt = _real_line(job.path, job.dt_ms)
        kind = str(rng.choice(pool.real_noise))
        lo, hi = pool.real_ratios
        ratio = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        noisy = add_noise(clean.T, kind, ratio, rng, dt).T  # noise along time: traces are rows there
        fault = np.zeros_like(clean)
        normalizer = normalizer_from_traces(noisy.T, job.path, settings.clip_percentile)
    branches = Branches(settings, normalizer)
    images = branches.images(noisy)
    ref, ref_edge = branches.pair(clean)
    return {"inputs": stack_branches(settings.branches, images), "edge": images[EDGE], "clean": ref,
            "clean_edge": ref_edge, "fault": np.asarray(fault, np.float32)}


def _quiet_worker() -> None:
    """A building process prints no geometry notes (the parent has said what it reads)."""
    import logging

    logging.getLogger("seisfuse").setLevel(logging.ERROR)


def _build_one(args: tuple[Job, BranchSettings, Pool, str]) -> int:
    """Build and save one section (in a worker process) to its file; returns its index."""
    job, settings, pool, target = args
    from seisfuse.files import atomic_output

    arrays = build_section(job, settings, pool)
    with atomic_output(target) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return job.index


class SectionPool:
    """The sections of one split (train or val): built where missing, then read by index."""

    def __init__(self, settings: BranchSettings, pool: Pool, split: str, cache_dir: str | os.PathLike | None = None):
        self.settings, self.pool, self.split = settings, pool, split
        root = Path(pool.cache_dir or cache_dir or default_cache_dir())
        self.folder = root / f"pool-{branches_key(settings)}"
        self.jobs = plan_jobs(pool, split)
        self.names = [job_name(j, pool) for j in self.jobs]

    def __len__(self) -> int:
        return len(self.jobs)

    def path(self, index: int) -> Path:
        """The cached file of one section."""
        return self.folder / f"{self.names[index]}.npz"

    def missing(self) -> list[Job]:
        """Sections not built yet."""
        return [j for j in self.jobs if not self.path(j.index).is_file()]

    def build(self, progress: bool = True) -> None:
        """Build every missing section (in pool.workers processes), printing progress with an ETA."""
        from seisfuse.progress import Progress

        todo = self.missing()
        if not todo:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "settings.json").write_text(json.dumps({"branches": self.settings.to_dict()}, indent=1))
        args = [(j, self.settings, self.pool, str(self.path(j.index))) for j in todo]
        label = f"building the {self.split} section pool ({', '.join(self.settings.branches)})"
        with Progress(len(todo), label, unit="section", enabled=progress) as bar:
            if self.pool.workers == 1 or len(todo) == 1:
                for a in args:
                    _build_one(a)
                    bar.update()
                return
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(min(self.pool.workers, len(todo)), _quiet_worker) as workers:
                for _ in workers.imap_unordered(_build_one, args):
                    bar.update()

    def load(self, index: int) -> dict[str, np.ndarray]:
        """The arrays of one section."""
        with np.load(self.path(index)) as z:
            return {k: z[k] for k in z.files}

    def is_real(self, index: int) -> bool:
        """True for a semi-real section."""
        return self.jobs[index].kind == "real"


__all__ = ["Job", "Pool", "SectionPool", "branches_key", "build_section", "job_name", "plan_jobs"]
