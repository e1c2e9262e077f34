"""The facts `seisfuse info` reports about a file, as plain data."""

from __future__ import annotations

from pathlib import Path

from seisfuse.segy.grid import GridVolume


def describe(volume: GridVolume, scan: bool = True) -> dict:
    """Format, geometry, ranges, dead traces and text header of a file."""
    g = volume.geometry
    info: dict = {
        "file": str(volume.path),
        "size_bytes": _size(volume.path),
        **{k: v for k, v in volume.storage_facts().items() if k != "extended_text"},
        "kind": _kind(volume),
        "geometry": "unstructured (traces in file order)" if g.header_bytes is None else g.header_bytes.describe(),
        "sorting": g.sorting,
        "traces": volume.n_traces,
        "samples": volume.n_samples,
        "sample_interval_ms": volume.dt_ms,
        "time_range_ms": [float(volume.samples[0]), float(volume.samples[-1])],
    }
    if g.kind == "gathers":
        counts = (g.grid >= 0).sum(axis=1)
        info["gathers"] = [int(g.ilines.min()), int(g.ilines.max()), len(g.ilines)]
        info["traces_per_gather"] = [int(counts.min()), int(counts.max())]
    elif g.kind == "3d":
        info["inlines"] = [int(g.ilines.min()), int(g.ilines.max()), len(g.ilines)]
        info["crosslines"] = [int(g.xlines.min()), int(g.xlines.max()), len(g.xlines)]
        info["missing_traces"] = g.n_missing
    else:
        info["traces_keys"] = [int(g.xlines.min()), int(g.xlines.max()), len(g.xlines)]
    if scan:
        first, _, nonfinite = volume.scan_live()
        info["dead_traces"] = int((first < 0).sum())
        info["nonfinite_samples"] = nonfinite
    info["text_header"] = volume.text_header
    extended = volume.storage_facts().get("extended_text")
    if extended:
        info["extended_text"] = extended
    return info


def _size(path: Path) -> int:
    """Bytes of a file, or of every file in a folder (an MDIO dataset)."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _kind(volume: GridVolume) -> str:
    """What the file holds, in words."""
    g = volume.geometry
    if g.kind == "gathers":
        return "pre-stack gathers"
    if g.single_line is not None:
        return f"a single {g.single_line} of a 3D survey"
    return "2D line" if g.kind == "2d" else "3D"
