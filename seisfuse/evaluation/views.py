"""What a picture shows of a volume: a view (an inline, a crossline or a time slice) read as an array, with its axes.

The volume side of `seisfuse preview` and `seisfuse compare`: `viz.py` draws arrays and
never reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from seisfuse.evaluation.viz import Extent, qc_figure
from seisfuse.normalize import Normalizer
from seisfuse.progress import Progress
from seisfuse.segy import GridVolume


@dataclass
class View:
    """Which section to draw: axis ('inline', 'crossline' or 'time') and position index."""

    axis: str
    index: int
    label: str


def section_view(volume: GridVolume, axis: str, index: int) -> View:
    """The view of one section, labelled as a geophysicist names it: 'inline 1200', 'crossline 300', '2D line', or
    'gather 17'."""
    if axis != "time" and volume.geometry.kind == "2d":
        return View(axis, index, "2D line")
    key = int(volume.section_keys(axis)[index]) if axis != "time" else index
    name = "gather" if volume.geometry.kind == "gathers" else axis
    return View(axis, index, f"{name} {key}")


def read_view(volume: GridVolume, view: View) -> np.ndarray:
    """The samples of a view: (samples, traces) for lines, (inlines, crosslines) for time slices."""
    if view.axis == "time":
        return volume.time_slice(view.index)
    return volume.section(view.axis, view.index)


def view_extent(volume: GridVolume, view: View) -> Extent:
    """Axis labels and ranges of a view in header units (line numbers, ms)."""
    g = volume.geometry
    if view.axis == "time":
        return Extent("crossline", g.xlines[0], g.xlines[-1], "inline", g.ilines[0], g.ilines[-1])
    keys, name = (g.xlines, "crossline") if view.axis == "inline" else (g.ilines, "inline")
    if g.kind == "2d":
        name = "trace" if g.header_bytes is None else f"trace key (byte {g.header_bytes.xline})"
    vert, unit = volume.vertical
    label = f"{'time' if vert == 'twt' else 'depth'} ({unit})"
    return Extent(name, keys[0], keys[-1], label, volume.samples[0], volume.samples[-1])


def qc_view_figure(volumes: list[GridVolume], titles: list[str], view: View, normalizer: Normalizer) -> Figure:
    """The reference-free checks of one view: volumes[0] is the input, the others its denoised versions."""
    from seisfuse.evaluation.qc import local_similarity

    raw = normalizer.forward(read_view(volumes[0], view))
    outputs = {t: normalizer.forward(read_view(v, view)) for v, t in zip(volumes[1:], titles[1:], strict=True)}
    similarity = {}
    with Progress(len(outputs), "leakage (local similarity)", unit="volume") as bar:
        for t, out in outputs.items():
            similarity[t] = local_similarity(raw - out, out - 0.5)
            bar.update()
    return qc_figure(raw, outputs, view_extent(volumes[0], view), volumes[0].dt_ms,
                     f"{view.label} of {volumes[0].path.name}: what each removed, on the input's scale; leakage = local "
                     "similarity of removed noise and output (Chen & Fomel 2015)", similarity, normalizer.clip)
