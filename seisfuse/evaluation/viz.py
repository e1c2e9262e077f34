"""Picture panels of sections: raw | edge (| fused | difference) with a seismic colormap and real axes.

Arrays in, figures out: what to draw of a volume is read by `views.py`.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seisfuse.edges import MAGNITUDE
from seisfuse.files import atomic_output

AMPLITUDE = "amplitude"
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


def amplitude_colorbar(fig: Figure, image: Any, axes: Any, clip: float | None, label: str = "amplitude") -> None:
    """One colour bar for every amplitude panel of a figure: in the file's amplitude units when the clip is known
    (normalized 0..1 is -clip..+clip), else on the normalized scale, said so."""
    bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.01)
    if clip is not None:
        bar.set_ticks([0.0, 0.25, 0.5, 0.75, 1.0])
        bar.set_ticklabels([f"{v:.3g}" for v in np.array([-1.0, -0.5, 0.0, 0.5, 1.0]) * clip])
        bar.set_label(f"{label} (clipped at \u00b1{clip:.4g})")
    else:
        bar.set_label(f"normalized {label} (0.5 = zero)")


def render(panels: list[Panel], extent: Extent, title: str, panel_width_in: float = 4.0,
           height_in: float = 5.0, dpi: int = 100, clip: float | None = None) -> Figure:
    """A figure with the panels side by side, shared axes, one colour bar for all amplitude panels (in amplitude
    units with `clip`) and one per edge map or difference panel."""
    fig = Figure(figsize=(panel_width_in * len(panels) + 1.0, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharex=True, sharey=True, squeeze=False)[0]
    ext = (extent.x0, extent.x1, extent.y1, extent.y0)
    amplitude_image, amplitude_axes = None, []
    for ax, panel in zip(axes, panels, strict=True):
        im = ax.imshow(panel.data, aspect="auto", extent=ext, interpolation="nearest", **_style(panel))
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(extent.x_label)
        if panel.kind == AMPLITUDE:
            amplitude_image = im
            amplitude_axes.append(ax)
        else:
            bar = fig.colorbar(im, ax=ax, shrink=0.8, pad=0.01)
            bar.set_label("edge strength (0..1)" if panel.kind == MAGNITUDE else "difference (normalized)")
    if amplitude_image is not None:
        amplitude_colorbar(fig, amplitude_image, amplitude_axes, clip)
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
                   fused: np.ndarray | None = None, fused_title: str = "fused", clip: float | None = None) -> Figure:
    """raw | edge panels of one normalized section, plus fused | fused - raw when a fused section is given."""
    panels = [Panel("input", raw), Panel("edge branch", edge, edge_kind)]
    if fused is not None:
        panels += [Panel(fused_title, fused), Panel(f"{fused_title} - input", fused - raw, DIFFERENCE)]
    return render(panels, extent, title, clip=clip)


def compare_figure(images: list[np.ndarray], titles: list[str], extent: Extent, title: str,
                   clip: float | None = None) -> Figure:
    """One panel per normalized image (all mapped with one normalizer by the caller: one colour scale)."""
    return render([Panel(t, img) for img, t in zip(images, titles, strict=True)], extent, title, clip=clip)


def distinct_titles(paths: list[str]) -> list[str]:
    """Panel titles for files: their names, with as much of their folders as tells two of the same name apart."""
    parts = [Path(p).resolve().parts for p in paths]
    depth = 1
    while depth < max(len(p) for p in parts) and len({p[-depth:] for p in parts}) < len(set(parts)):
        depth += 1
    return ["/".join(p[-depth:]) for p in parts]


def qc_figure(raw: np.ndarray, outputs: dict[str, np.ndarray], extent: Extent, dt_ms: float, title: str,
              similarity: dict[str, np.ndarray] | None = None, clip: float | None = None) -> Figure:
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
    image = axes[0, 0].imshow(raw, **style)
    axes[0, 0].set_title("input", fontsize=9)
    for j, name in enumerate(names, start=1):
        axes[0, j].imshow(outputs[name], **style)
        axes[0, j].set_title(name, fontsize=9)
        axes[1, j].imshow(0.5 + (raw - outputs[name]), **style)
        axes[1, j].set_title(f"removed by {name}", fontsize=9)
        if similarity:
            im = axes[2, j].imshow(similarity[name], cmap="gray_r", vmin=0.0, vmax=1.0, aspect="auto", extent=ext)
            axes[2, j].set_title(f"leakage, mean {similarity[name].mean():.3f}", fontsize=9)
    amplitude_colorbar(fig, image, [*axes[0, :], *axes[1, 1:]], clip)
    if similarity:
        fig.colorbar(im, ax=list(axes[2, 1:]), shrink=0.8, pad=0.01).set_label("local similarity (0..1)")
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
    for ax in (*axes[0, :], *axes[1, 1:], *(axes[2, 1:] if similarity else ())):
        ax.set_xlabel(extent.x_label, fontsize=8)
    axes[0, 0].set_ylabel(extent.y_label)
    axes[1, 1].set_ylabel(extent.y_label)
    fig.suptitle(textwrap.fill(title, width=int(40 * ncol)), fontsize=10)
    return fig
