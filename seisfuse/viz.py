"""Picture panels of sections: raw | edge (| fused | difference) with a seismic colormap and real axes."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seisfuse.branches import Branches
from seisfuse.edges import MAGNITUDE
from seisfuse.files import atomic_output
from seisfuse.normalize import Normalizer
from seisfuse.segy import GridVolume

DIFFERENCE = "difference"


@dataclass
class Panel:
    """One image of a figure: title, data in [0, 1] (or a signed difference), and how to colour it."""

    title: str
    data: np.ndarray
    kind: str = "amplitude"  # 'amplitude' (0.5 = zero amplitude), 'magnitude' or 'difference'


@dataclass
class Extent:
    """Axis labels and ranges: x from first to last trace key, y from first to last time."""

    x_label: str
    x0: float
    x1: float
    y_label: str
    y0: float
    y1: float


def _style(panel: Panel) -> dict:
    """imshow arguments for a panel kind (fixed ranges: no per-image stretch of amplitudes)."""
    if panel.kind == MAGNITUDE:
        return {"cmap": "gray_r", "vmin": 0.0, "vmax": 1.0}
    if panel.kind == DIFFERENCE:
        finite = np.abs(panel.data[np.isfinite(panel.data)])
        vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        vmax = vmax if vmax > 0 else 1.0
        return {"cmap": "RdBu_r", "vmin": -vmax, "vmax": vmax}
    return {"cmap": "seismic", "vmin": 0.0, "vmax": 1.0}


def render(panels: list[Panel], extent: Extent, title: str, panel_width_in: float = 4.0,
           height_in: float = 5.0, dpi: int = 100) -> Figure:
    """A figure with the panels side by side, shared axes and one colorbar each."""
    fig = Figure(figsize=(panel_width_in * len(panels), height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False)[0]
    ext = (extent.x0, extent.x1, extent.y1, extent.y0)
    for ax, panel in zip(axes, panels, strict=True):
        im = ax.imshow(panel.data, aspect="auto", extent=ext, interpolation="nearest", **_style(panel))
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(extent.x_label)
        fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01)
    axes[0].set_ylabel(extent.y_label)
    fig.suptitle(textwrap.fill(title, width=int(18 * panel_width_in * len(panels))), fontsize=10)
    return fig


def to_rgb(fig: Figure) -> np.ndarray:
    """The rendered figure as an (H, W, 3) uint8 array (for W&B image panels)."""
    canvas = fig.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_png(fig: Figure, path: str | os.PathLike) -> None:
    """Write the figure as PNG atomically."""
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")


# ---------------------------------------------------------------- section previews
@dataclass
class View:
    """Which section to draw: axis ('inline', 'crossline' or 'time') and position index."""

    axis: str
    index: int
    label: str


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


def preview_figure(volume: GridVolume, view: View, branches: Branches,
                   fuse: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                   fused_title: str = "fused") -> Figure:
    """raw | edge panels of one section, plus fused | fused - raw when a fusion function is given."""
    raw, edge = branches.pair(read_view(volume, view))
    pipeline = branches.pipeline
    panels = [Panel("raw (normalized)", raw), Panel("edge branch", edge, pipeline.output)]
    if fuse is not None:
        fused = fuse(raw, edge)
        panels += [Panel(fused_title, fused), Panel(f"{fused_title} - raw", fused - raw, DIFFERENCE)]
    title = f"{volume.path.name} | {view.label} | edges: {pipeline.describe()}"
    return render(panels, view_extent(volume, view), title)


def compare_figure(volumes: list[GridVolume], titles: list[str], view: View, normalizer: Normalizer) -> Figure:
    """One panel per volume at the same section, all mapped with one normalizer (the same colour scale)."""
    panels = [Panel(t, normalizer.forward(read_view(v, view))) for v, t in zip(volumes, titles, strict=True)]
    return render(panels, view_extent(volumes[0], view), f"{view.label} | colour scale: clip {normalizer.clip:.4g} "
                                                              f"of {volumes[0].path.name}")
