"""Picture panels of sections: raw | edge (| fused | difference) with a seismic colormap and real axes.

Arrays in, figures out: what to draw of a volume is read by `views.py`.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seisfuse.edges import MAGNITUDE
from seisfuse.files import atomic_output

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
def preview_figure(raw: np.ndarray, edge: np.ndarray, extent: Extent, title: str, edge_kind: str = "amplitude",
                   fused: np.ndarray | None = None, fused_title: str = "fused") -> Figure:
    """raw | edge panels of one normalized section, plus fused | fused - raw when a fused section is given."""
    panels = [Panel("raw (normalized)", raw), Panel("edge branch", edge, edge_kind)]
    if fused is not None:
        panels += [Panel(fused_title, fused), Panel(f"{fused_title} - raw", fused - raw, DIFFERENCE)]
    return render(panels, extent, title)


def compare_figure(images: list[np.ndarray], titles: list[str], extent: Extent, title: str) -> Figure:
    """One panel per normalized image (all mapped with one normalizer by the caller: one colour scale)."""
    return render([Panel(t, img) for img, t in zip(images, titles, strict=True)], extent, title)


def qc_figure(raw: np.ndarray, outputs: dict[str, np.ndarray], extent: Extent, dt_ms: float, title: str,
              similarity: dict[str, np.ndarray] | None = None) -> Figure:
    """Reference-free checks on one normalized section: the input and each output, what each removed (on the same
    colour scale), the average amplitude spectra, the f-k spectrum of the first removal, and the local similarity
    of removed noise and output (signal leakage) when given."""
    from seisfuse.evaluation.qc import amplitude_spectrum, fk_spectrum

    names = list(outputs)
    ncol = 1 + len(names)
    fig = Figure(figsize=(3.2 * ncol, 10.5 if similarity else 7.2), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(3 if similarity else 2, ncol, squeeze=False)
    ext = (extent.x0, extent.x1, extent.y1, extent.y0)
    style = {"cmap": "seismic", "vmin": 0.0, "vmax": 1.0, "aspect": "auto", "extent": ext, "interpolation": "nearest"}
    axes[0, 0].imshow(raw, **style)
    axes[0, 0].set_title("input", fontsize=9)
    for j, name in enumerate(names, start=1):
        axes[0, j].imshow(outputs[name], **style)
        axes[0, j].set_title(name, fontsize=9)
        axes[1, j].imshow(0.5 + (raw - outputs[name]), **style)
        axes[1, j].set_title(f"removed by {name}", fontsize=9)
        if similarity:
            im = axes[2, j].imshow(similarity[name], cmap="gray_r", vmin=0.0, vmax=1.0, aspect="auto", extent=ext)
            axes[2, j].set_title(f"leakage: similarity, mean {similarity[name].mean():.3f}", fontsize=9)
            fig.colorbar(im, ax=axes[2, j], shrink=0.8)
    f, s_in = amplitude_spectrum(raw - 0.5, dt_ms)
    spec = axes[1, 0]
    spec.plot(f, 20 * np.log10(s_in / s_in.max() + 1e-12), label="input", color="k")
    for name in names:
        _, s_out = amplitude_spectrum(outputs[name] - 0.5, dt_ms)
        spec.plot(f, 20 * np.log10(s_out / s_in.max() + 1e-12), label=name)
    spec.axhline(-6, color="0.6", lw=0.6, ls="--")
    spec.axhline(-20, color="0.6", lw=0.6, ls=":")
    spec.set(xlabel="frequency (Hz)", ylabel="amplitude (dB of input peak)", ylim=(-60, 3), title="average spectra")
    spec.legend(fontsize=7)
    if similarity:
        fk = fk_spectrum(raw - outputs[names[0]])
        nyq = 500.0 / dt_ms
        axes[2, 0].imshow(20 * np.log10(fk / (fk.max() + 1e-12) + 1e-6), cmap="magma", vmin=-40, vmax=0, aspect="auto",
                          extent=(-0.5, 0.5, nyq, 0))
        axes[2, 0].set(xlabel="wavenumber (cycles/trace)", ylabel="frequency (Hz)", title=f"f-k of removed: {names[0]}")
    for ax in axes[0, 1:]:
        ax.set_xlabel(extent.x_label)
    axes[0, 0].set_ylabel(extent.y_label)
    fig.suptitle(textwrap.fill(title, width=int(20 * ncol)), fontsize=10)
    return fig
