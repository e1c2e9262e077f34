"""Per-file caches: the facts training start-up needs (live-sample ranges, normalization clip) and fast copies.

Training start-up reads each file at most once: :func:`scan_file` reads every inline once
(strided files in blocks) and gets, in that one pass, the first and last live sample of
every trace, the normalization clip (from exactly the traces `branches.fit_normalizer` samples, so
the clip is the same), and optionally writes the (inlines, crosslines, samples) .npy copy
used for fast random patch reads. The facts are stored as a small .npz beside the cache (or
in the run folder), keyed by the file's size and modification time, so every other DDP
rank and every requeued job loads them instead of reading the file again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seisfuse.files import atomic_output
from seisfuse.normalize import normalizer_from_traces
from seisfuse.segy import GridVolume
from seisfuse.segy.grid import live_ranges


def cache_file_for(path: str, cache_dir: str, header_key: str, suffix: str = ".npy") -> Path:
    """Cache name that changes whenever the file (size, mtime) or the header bytes change."""
    st = Path(path).stat()
    digest = hashlib.sha1(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{header_key}".encode()).hexdigest()
    return Path(cache_dir) / f"{Path(path).stem}-{digest[:12]}{suffix}"


@dataclass
class FileStats:
    """What start-up needs from a file: its normalization clip and the live samples of every trace."""

    clip: float
    first_live: np.ndarray  # per trace: first non-zero sample, -1 for dead traces
    last_live: np.ndarray
    nonfinite: int

    def save(self, target: Path) -> None:
        """Write as .npz, atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(target) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, clip=self.clip, first_live=self.first_live, last_live=self.last_live, nonfinite=self.nonfinite)

    @classmethod
    def load(cls, source: Path) -> FileStats:
        """Read a saved .npz."""
        with np.load(source) as z:
            return cls(float(z["clip"]), z["first_live"], z["last_live"], int(z["nonfinite"]))


def scan_file(volume: GridVolume, percentile: float, seed: int, cache_target: Path | None = None) -> FileStats:
    """One pass over a file: live-sample ranges, the normalization clip, and (optionally) the .npy copy."""
    grid = volume.geometry.grid
    first = np.full(volume.n_traces, -1, dtype=np.int64)
    last = np.full(volume.n_traces, -1, dtype=np.int64)
    sample = volume.sample_trace_indices(seed=seed)
    wanted = np.zeros(volume.n_traces, dtype=bool)
    wanted[sample] = True
    kept: dict[int, np.ndarray] = {}
    nonfinite = 0
    with contextlib.nullcontext() if cache_target is None else _cache_array(volume, cache_target) as arr:
        for k, section in volume.sections_in_blocks("inline"):
            traces = grid[k]
            block = section.T  # (positions, samples)
            if arr is not None:
                arr[k] = block
            live = traces >= 0
            rows, idx = block[live], traces[live]
            first[idx], last[idx], bad = live_ranges(rows)
            nonfinite += bad
            for j in np.flatnonzero(wanted[idx]):
                kept[int(idx[j])] = rows[j].copy()
    clip = normalizer_from_traces(np.stack([kept[int(t)] for t in sample]), volume.path, percentile).clip
    return FileStats(clip, first, last, nonfinite)


@contextlib.contextmanager
def _cache_array(volume: GridVolume, target: Path) -> Iterator[np.ndarray]:
    """An (inlines, crosslines, samples) float32 .npy written atomically (nothing left if the pass fails)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    g = volume.geometry
    with atomic_output(target) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                        shape=(len(g.ilines), len(g.xlines), volume.n_samples))
        try:
            yield arr
        finally:
            arr.flush()
            del arr
