"""The classical denoisers' one home: registry and factory, noise estimates, f-x deconvolution, BM3D."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import convolve1d

from seisfuse import denoisers
from seisfuse.denoisers import filters
from seisfuse.denoisers.estimate import estimate_psd, estimate_sigma, temporal_noise_spectrum
from seisfuse.denoisers.fxdecon import fxdecon
from seisfuse.edges import build_op
from seisfuse.synth.survey import ricker


def plane_waves(nt: int = 256, nx: int = 64, dips: tuple[float, ...] = (0.7, -0.3)) -> np.ndarray:
    """Linear events of a 30 Hz Ricker wavelet (4 ms) with the given dips (samples per trace)."""
    spike = np.zeros(nt)
    spike[60] = 1.0
    spectrum = np.fft.rfft(convolve1d(spike, ricker(30, 4)))
    f = np.fft.rfftfreq(nt)
    return sum(np.stack([np.fft.irfft(spectrum * np.exp(-2j * np.pi * f * dip * k), n=nt) for k in range(nx)], 1)
               / (i + 1) for i, dip in enumerate(dips))


def test_registry_factory_and_validation():
    assert {"gaussian", "median", "bilateral", "fxdecon", "bm3d", "bm3d-psd"} <= set(denoisers.names())
    for name, info in denoisers.DENOISERS.items():
        assert set(info.tuned) <= set(info.params), name
        assert all(set(p) <= set(info.params) for p in info.grid) and info.grid, name
    f = denoisers.create_denoiser("gaussian", sigma=2.0)
    img = np.random.default_rng(0).random((30, 40)).astype(np.float32)
    np.testing.assert_array_equal(f(img), filters.gaussian(img, 2.0))
    with pytest.raises(ValueError, match="unknown denoiser"):
        denoisers.create_denoiser("nlmeans")
    with pytest.raises(ValueError, match="unknown parameter"):
        denoisers.create_denoiser("median", sigma=1)
    with pytest.raises(ValueError, match="invalid parameters"):
        denoisers.create_denoiser("fxdecon", length=0)


@pytest.mark.parametrize("spec,call", [
    ({"op": "gaussian", "sigma": 1.3}, lambda x: filters.gaussian(x, 1.3)),
    ({"op": "median", "size": 5}, lambda x: filters.median(x, 5)),
    ({"op": "bilateral", "diameter": 7, "sigma_color": 0.05, "sigma_space": 3.0},
     lambda x: filters.bilateral(x, 7, 0.05, 3.0)),
])
def test_edge_branch_smoothing_is_the_denoisers_filter(spec, call):
    img = np.random.default_rng(1).random((33, 47)).astype(np.float32)
    np.testing.assert_array_equal(build_op(spec)(img), call(img))


def test_sigma_estimate_matches_scikit_image_and_the_truth():
    from skimage.restoration import estimate_sigma as sk_sigma

    rng = np.random.default_rng(2)
    clean = 0.5 + 0.2 * plane_waves(200, 120) / np.abs(plane_waves(200, 120)).max()
    noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    assert estimate_sigma(noisy) == pytest.approx(sk_sigma(noisy), rel=1e-6)
    assert estimate_sigma(noisy) == pytest.approx(0.05, rel=0.1)


def test_noise_spectrum_from_adjacent_traces_finds_band_limited_noise():
    """Noise independent between traces but band-limited in time: its spectrum is recovered; the signal is not."""
    from seisfuse.synth.noise import band_limited

    rng = np.random.default_rng(3)
    signal = plane_waves(256, 96, dips=(0.2, -0.1))
    signal /= np.abs(signal).max()
    noise = 0.3 * band_limited((96, 256), rng, dt_ms=4.0, band_hz=(10.0, 40.0)).T  # (samples, traces)
    spectrum = temporal_noise_spectrum(signal + noise)
    truth = np.mean(np.abs(np.fft.fft(noise, axis=0)) ** 2, axis=1)
    freqs = np.fft.fftfreq(256, 0.004)
    band = (np.abs(freqs) > 15) & (np.abs(freqs) < 35)
    outside = np.abs(freqs) > 80
    assert np.median(spectrum[band] / truth[band]) == pytest.approx(1.0, abs=0.25)
    assert spectrum[outside].mean() < 0.05 * spectrum[band].mean(), "no noise found where there is none"
    psd = estimate_psd(signal + noise)
    assert psd.shape == (256, 96) and np.allclose(psd[:, 0], psd[:, -1])
    white = 0.1 * rng.standard_normal((256, 96))
    assert estimate_psd(white).mean() == pytest.approx(0.01 * 256 * 96, rel=0.15), "bm3d's PSD convention"


def test_fxdecon_attenuates_noise_on_plane_waves_and_keeps_them():
    signal = plane_waves()
    scale = 0.25 / np.abs(signal).max()
    noise = 0.5 * np.std(signal) * np.random.default_rng(4).standard_normal(signal.shape)
    out = (fxdecon(0.5 + scale * (signal + noise), length=4, window_traces=64, window_samples=256) - 0.5) / scale
    assert np.std(out - signal) < 0.55 * np.std(noise), "at least 45% of the noise removed"
    kept = (fxdecon(0.5 + scale * signal, length=4, window_traces=64, window_samples=256) - 0.5) / scale
    assert np.std(kept - signal) < 0.03 * np.std(signal), "linear events pass through"


def test_windows_cover_sections_of_any_size():
    img = 0.5 + 0.1 * np.random.default_rng(6).standard_normal((37, 5)).astype(np.float32)
    out = fxdecon(img, window_traces=32, window_samples=128)
    assert out.shape == img.shape and np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


bm3d = pytest.importorskip("bm3d", reason="the baselines extra (bm3d) is not installed")


def test_bm3d_rows_use_estimated_noise_and_beat_the_input():
    from seisfuse.evaluation.metrics import ssim

    rng = np.random.default_rng(7)
    signal = plane_waves(128, 64)
    clean = (0.5 + 0.4 * signal / np.abs(signal).max()).astype(np.float32)
    noisy = np.clip(clean + 0.06 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    for name in ("bm3d", "bm3d-psd"):
        out = denoisers.create_denoiser(name)(noisy)
        assert out.shape == noisy.shape and out.dtype == np.float32
        assert ssim(out, clean) > ssim(noisy, clean) + 0.1, name


# ---------------------------------------------------------------- structure-oriented BM3D
def _plane_waves(n_t: int, n_x: int, slope: float) -> np.ndarray:
    """Ricker events of one slope (samples per trace): d(t, x) = sum_k r(t - slope x - t_k)."""
    t, x = np.arange(n_t)[:, None], np.arange(n_x)[None, :]
    a = (np.pi * 0.08 * (t - slope * x - np.arange(-120, 240, 13)[:, None, None])) ** 2
    return ((1 - 2 * a) * np.exp(-a)).sum(axis=0)


def test_flattening_matches_a_transliteration_of_the_reference_pw_flatten():
    from reference_pwd import pw_flatten

    from seisfuse.denoisers.structure import flatten, paint

    for slope in (0.8, -0.5, 1.5):
        d = _plane_waves(60, 7, slope)  # events of amplitude 1
        dip = np.full(d.shape, slope)
        ref = pw_flatten(d, dip)  # the reference: every trace predicted onto the first along the slopes (PWD)
        mine = flatten(d, paint(dip, 0))
        inner = slice(8, -12)  # the ends of a trace have nothing to move in from
        assert np.abs(ref[inner] - d[inner, :1]).max() < 0.015, "the transliteration flattens (all-pass filters: 1%)"
        assert np.abs(mine[inner] - d[inner, :1]).max() < 0.002, "so does painting with cubic splines"
        assert np.abs(mine[inner] - ref[inner]).max() < 0.015


def test_slopes_painting_and_flattening_round_trip():
    from seisfuse.denoisers.structure import flatten, local_slopes, paint, unflatten

    for slope in (0.3, -1.5):
        d = _plane_waves(120, 60, slope)
        est = local_slopes(d)
        assert abs(est[30:90, 15:45].mean() - slope) < 0.01
    x = np.arange(60)[None, :]
    t = np.arange(160)[:, None]
    curved = np.cos(2 * np.pi * (t - 0.02 * (x - 30) ** 2) / 14.0)  # a curved, faultless structure
    tau = paint(local_slopes(curved), 30)
    flat = flatten(curved, tau)
    assert flat[20:-20].std(axis=1).mean() < 0.2 * curved[20:-20].std(axis=1).mean(), "events made flat"
    back = unflatten(flat, tau)
    assert np.abs(back - curved)[25:-25, 5:-5].max() < 0.05


@pytest.mark.skipif(not denoisers.get("bm3d-so").available(), reason="needs the baselines extra (bm3d)")
def test_bm3d_so_is_a_registered_denoiser_and_a_branch():
    from seisfuse.branches import Branches, BranchSettings
    from seisfuse.normalize import Normalizer

    rng = np.random.default_rng(0)
    clean = 0.5 + 0.2 * _plane_waves(96, 48, 0.6)
    noisy = (clean + 0.05 * rng.standard_normal(clean.shape)).astype(np.float32)
    out = denoisers.create_denoiser("bm3d-so")(noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert np.abs(out - clean).mean() < 0.5 * np.abs(noisy - clean).mean()
    stack = Branches(BranchSettings(branches=("raw", "bm3d-so")), Normalizer(1.0)).stack(2 * noisy - 1)
    assert stack.shape == (2, 96, 48) and np.allclose(stack[1], out, atol=1e-6)
