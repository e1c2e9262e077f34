"""Classical denoisers of a section in [0, 1] (0.5 is zero amplitude): one registry, one factory.

Each denoiser has one implementation, its parameters tuned once on synthetic training
sections (`scripts/bench/tune_classical.py`, SSIM to the clean section; never on data that
is scored) and the grid that tuning searches. :func:`create_denoiser` maps a name to a
callable ``f(section) -> section`` (as timm's ``create_attn`` maps a name to its module).

| name | what | needs |
|---|---|---|
| gaussian, median, bilateral | one OpenCV call (`filters.py`) | |
| fxdecon | f-x deconvolution, forward-backward, windowed (`fxdecon.py`) | |
| bm3d | BM3D, white-noise sigma estimated per section (`bm3d.py`) | extra `baselines` |
| bm3d-psd | BM3D, noise spectrum estimated per section from adjacent-trace differences | extra `baselines` |
| bm3d-so | structure-oriented BM3D: flattened along local slopes in windows of traces (`structure.py`) | extra `baselines` |
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from seisfuse.denoisers import bm3d, filters
from seisfuse.denoisers.fxdecon import fxdecon
from seisfuse.denoisers.structure import bm3d_so

Denoise = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DenoiserInfo:
    """A registered denoiser: its function f(section, **params), tuned parameters and tuning grid."""

    name: str
    fn: Callable[..., np.ndarray]
    tuned: Mapping[str, float] = field(default_factory=dict)
    grid: tuple[Mapping[str, float], ...] = ()
    needs_extra: bool = False  # provided by an optional extra (licence): `pip install seisfuse[baselines]`
    summary: str = ""

    @property
    def params(self) -> list[str]:
        """Names of the parameters it takes."""
        return [p for p in inspect.signature(self.fn).parameters if p != "img"]

    def available(self) -> bool:
        """True when whatever it needs is installed."""
        return not self.needs_extra or bm3d.available()


def _grid(**axes: tuple[float, ...]) -> tuple[dict[str, float], ...]:
    """Every combination of the given parameter values."""
    combos: list[dict[str, float]] = [{}]
    for key, values in axes.items():
        combos = [{**c, key: v} for c in combos for v in values]
    return tuple(combos)


#: The registry. Tuned values from `python scripts/bench/tune_classical.py` (synthetic training sections).
DENOISERS: dict[str, DenoiserInfo] = {d.name: d for d in (
    DenoiserInfo("gaussian", filters.gaussian, {"sigma": 0.75}, _grid(sigma=(0.5, 0.75, 1.0, 1.25, 1.5, 2.0)),
                 summary="Gaussian blur (OpenCV)"),
    DenoiserInfo("median", filters.median, {"size": 3}, _grid(size=(3, 5)), summary="median filter (OpenCV)"),
    DenoiserInfo("bilateral", filters.bilateral, {"diameter": 5, "sigma_color": 0.3, "sigma_space": 1.5},
                 _grid(diameter=(5, 7, 9), sigma_color=(0.05, 0.1, 0.2, 0.3, 0.5), sigma_space=(1.5, 3.0)),
                 summary="bilateral filter (OpenCV)"),
    DenoiserInfo("fxdecon", fxdecon, {"length": 4, "mu": 10.0, "window_traces": 48, "window_samples": 64},
                 _grid(length=(2, 3, 4, 6), window_traces=(16, 32, 48), window_samples=(64, 128), mu=(1.0, 10.0)),
                 summary="f-x deconvolution, forward-backward prediction in overlapping windows"),
    DenoiserInfo("bm3d", bm3d.bm3d_white, {"sigma_scale": 1.0}, _grid(sigma_scale=(0.75, 1.0, 1.25, 1.5)),
                 needs_extra=True, summary="BM3D, white-noise sigma estimated per section"),
    DenoiserInfo("bm3d-psd", bm3d.bm3d_psd, {"sigma_scale": 1.0}, _grid(sigma_scale=(0.75, 1.0, 1.25, 1.5)),
                 needs_extra=True, summary="BM3D, noise spectrum estimated per section (adjacent-trace differences)"),
    DenoiserInfo("bm3d-so", bm3d_so, {"sigma_scale": 1.0, "window": 16, "step": 8},
                 _grid(sigma_scale=(0.75, 1.0, 1.25), window=(8, 16, 32), step=(4, 8)),
                 needs_extra=True, summary="structure-oriented BM3D: flattened along local slopes, white sigma"),
)}


def names() -> tuple[str, ...]:
    """Every registered denoiser's name."""
    return tuple(DENOISERS)


def get(name: str) -> DenoiserInfo:
    """The registry entry of a name, with the valid names in the error."""
    if name not in DENOISERS:
        raise ValueError(f"unknown denoiser {name!r}; valid: {', '.join(DENOISERS)}")
    return DENOISERS[name]


def create_denoiser(name: str, **params: float) -> Denoise:
    """f(section) of a registered denoiser with its tuned parameters, updated by params (checked now)."""
    info = get(name)
    unknown = sorted(set(params) - set(info.params))
    if unknown:
        raise ValueError(f"{name}: unknown parameter {', '.join(unknown)}; valid: {', '.join(info.params) or 'none'}")
    merged = {**info.tuned, **params}
    if not info.needs_extra:  # check the values on a tiny image (the optional ones check at their first call)
        try:
            info.fn(np.full((16, 16), 0.5, np.float32), **merged)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: invalid parameters {params}: {str(exc).splitlines()[0]}") from None

    def denoise(img: np.ndarray) -> np.ndarray:
        return info.fn(img, **merged)

    denoise.__name__ = f"{name}({', '.join(f'{k}={v:g}' for k, v in merged.items())})"
    return denoise


__all__ = ["DENOISERS", "Denoise", "DenoiserInfo", "create_denoiser", "get", "names"]
