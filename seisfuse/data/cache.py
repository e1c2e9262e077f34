"""Per-file caches beside the data: volumes copied once to memory-mapped .npy for fast random patch reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from seisfuse.files import atomic_output
from seisfuse.segy import GridVolume


def cache_file_for(path: str, cache_dir: str, header_key: str, suffix: str = ".npy") -> Path:
    """Cache name that changes whenever the file (size, mtime) or the header bytes change."""
    st = Path(path).stat()
    digest = hashlib.sha1(f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{header_key}".encode()).hexdigest()
    return Path(cache_dir) / f"{Path(path).stem}-{digest[:12]}{suffix}"


def build_cache(volume: GridVolume, target: Path) -> None:
    """Write a volume as an (inlines, crosslines, samples) float32 .npy, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    g = volume.geometry
    with atomic_output(target) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                        shape=(len(g.ilines), len(g.xlines), volume.n_samples))
        for k in range(len(g.ilines)):
            arr[k] = volume.section("inline", k).T
        arr.flush()
        del arr
