"""The synthetic survey: deterministic, physically sensible, written as readable SEG-Y."""

from __future__ import annotations

import numpy as np
import pytest

from seisfuse.segy import open_volume
from seisfuse.synth.survey import SynthConfig, make_survey, ricker


def test_ricker_peak_and_zero_mean():
    w = ricker(30.0, 2.0)
    assert w.argmax() == len(w) // 2 and w.max() == pytest.approx(1.0)
    assert abs(w.sum()) < 0.05 * np.abs(w).sum()


def test_survey_deterministic_by_seed():
    cfg = SynthConfig(inlines=12, crosslines=10, samples=64, faults=2, seed=3)
    a, b = make_survey(cfg), make_survey(cfg)
    np.testing.assert_array_equal(a.seismic, b.seismic)
    c = make_survey(SynthConfig(inlines=12, crosslines=10, samples=64, faults=2, seed=4))
    assert not np.array_equal(a.seismic, c.seismic)


def test_noise_level_and_faults():
    cfg = SynthConfig(inlines=24, crosslines=24, samples=96, faults=2, noise=0.5, seed=1)
    s = make_survey(cfg)
    assert s.seismic.shape == (24, 24, 96)
    assert np.sqrt(np.mean(s.clean**2)) == pytest.approx(1.0, rel=1e-3)
    noise_rms = np.sqrt(np.mean((s.seismic - s.clean) ** 2))
    assert noise_rms == pytest.approx(0.5, rel=0.05)
    assert 0 < s.fault_mask.mean() < 0.2 and set(np.unique(s.fault_mask)) == {0.0, 1.0}
    # a fault offsets reflectors: neighbouring traces across it are less alike than elsewhere
    faulted = make_survey(SynthConfig(inlines=24, crosslines=24, samples=96, faults=2, noise=0.0, seed=1))
    lateral_step = np.abs(np.diff(faulted.clean, axis=1))
    on_fault = faulted.fault_mask[:, 1:] > 0
    assert lateral_step[on_fault].mean() > 1.5 * lateral_step[~on_fault].mean()
    no_fault = make_survey(SynthConfig(inlines=24, crosslines=24, samples=96, faults=0, noise=0.0, seed=1))
    assert no_fault.fault_mask.sum() == 0


def test_config_validation():
    with pytest.raises(ValueError, match="Nyquist"):
        SynthConfig(freq_hz=200, dt_ms=4)
    with pytest.raises(ValueError, match="inlines"):
        SynthConfig(inlines=0)


def test_cli_writes_three_volumes_with_same_geometry(tmp_path, run_cli):
    out, clean, mask = tmp_path / "s.sgy", tmp_path / "c.sgy", tmp_path / "m.sgy"
    code, stdout, err = run_cli("synth", out, "--inlines", 9, "--crosslines", 7, "--samples", 50, "--faults", 1,
                                "--seed", 2, "--clean", clean, "--fault-mask", mask)
    assert code == 0, err
    assert "9 inlines x 7 crosslines x 50 samples" in stdout
    vols = [open_volume(p) for p in (out, clean, mask)]
    for v in vols:
        assert v.geometry.header_bytes.iline == 189 and v.geometry.kind == "3d"
        assert list(v.geometry.ilines[[0, -1]]) == [100, 108] and list(v.geometry.xlines[[0, -1]]) == [300, 306]
        assert v.dt_ms == 4.0 and v.n_samples == 50
    assert not np.array_equal(vols[0].section("inline", 4), vols[1].section("inline", 4))
    assert set(np.unique(vols[2].section("inline", 4))) <= {0.0, 1.0}
    code, _, err = run_cli("synth", out)
    assert code == 1 and "--force" in err


# ---------------------------------------------------------------- noise kinds, wavelet phase, single lines, ranges
from seisfuse.synth import noise as N  # noqa: E402
from seisfuse.synth.survey import SynthRanges  # noqa: E402


@pytest.mark.parametrize("kind", N.KINDS)
def test_noise_kinds_have_unit_rms_and_their_character(kind):
    rng = np.random.default_rng(0)
    x = N.make_noise(kind, (64, 256), rng, dt_ms=4.0)
    assert x.shape == (64, 256) and x.dtype == np.float32
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)
    spectrum = np.abs(np.fft.rfft(x, axis=-1)).mean(axis=0) ** 2
    freqs = np.fft.rfftfreq(256, 0.004)
    in_band = spectrum[(freqs > 12) & (freqs < 38)].mean()
    out_band = spectrum[freqs > 80].mean()
    lateral_corr = np.mean(x[1:] * x[:-1])
    if kind in ("band", "lateral"):
        assert in_band > 100 * out_band, "band-passed in time"
    if kind == "white":
        assert 0.3 < in_band / out_band < 3 and abs(lateral_corr) < 0.05
    if kind == "lateral":
        assert lateral_corr > 0.5, "correlated across traces"
    if kind == "bursts":
        assert (np.abs(x) > 0).mean() < 0.2, "sparse: most samples untouched"


def test_add_noise_hits_the_ratio_and_keeps_dead_traces():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal((10, 200)).astype(np.float32) * 3
    signal[4] = 0
    out = N.add_noise(signal, "band", 0.5, rng, dt_ms=2.0)
    live = np.arange(10) != 4
    assert np.all(out[4] == 0)
    noise_rms = np.sqrt(np.mean((out - signal)[live] ** 2))
    assert noise_rms == pytest.approx(0.5 * N.signal_rms(signal), rel=0.15)
    with pytest.raises(ValueError, match="Nyquist"):
        N.bandpass(signal, 4.0, (200.0, 300.0))


def test_wavelet_phase_rotation():
    w0, w90, w180 = ricker(30, 2, 0), ricker(30, 2, 90), ricker(30, 2, 180)
    np.testing.assert_allclose(w180, -w0, atol=1e-6)
    assert abs(np.dot(w0, w90)) < 0.05 * np.dot(w0, w0), "90 degrees is orthogonal to zero phase"
    assert np.dot(w90, w90) == pytest.approx(np.dot(w0, w0), rel=0.05)


@pytest.mark.parametrize("kind", ["band", "lateral", "bursts", "white+lateral"])
def test_survey_noise_kinds_at_their_ratio(kind):
    s = make_survey(SynthConfig(inlines=8, crosslines=40, samples=128, noise=0.4, noise_kind=kind, seed=2))
    assert np.sqrt(np.mean((s.seismic - s.clean) ** 2)) == pytest.approx(0.4, rel=1e-3)
    with pytest.raises(ValueError, match="unknown noise kind"):
        SynthConfig(noise_kind="pink")


def test_single_line_faults_cut_the_section_at_a_visible_dip():
    for seed in range(8):
        s = make_survey(SynthConfig(inlines=1, crosslines=96, samples=96, faults=1, noise=0.0, seed=seed))
        rows = np.flatnonzero(s.fault_mask[0].any(axis=0))  # time samples the fault crosses
        cols = np.flatnonzero(s.fault_mask[0].any(axis=1))
        assert len(rows) > 30 and 3 < len(cols) < 90, "a dipping line, neither flat nor vertical"


def test_ranges_draw_valid_varied_configs():
    r = SynthRanges()
    rng = np.random.default_rng(0)
    cfgs = [r.draw(rng, 1, 64, 64) for _ in range(40)]
    assert len({c.noise_kind for c in cfgs}) >= 4 and len({c.dt_ms for c in cfgs}) == 2
    assert all(0.1 <= c.noise <= 1.0 and 10 <= c.freq_hz <= 60 for c in cfgs)
    again = [SynthRanges().draw(np.random.default_rng(0), 1, 64, 64) for _ in range(1)]
    assert again[0] == cfgs[0], "deterministic by seed"
    with pytest.raises(ValueError, match="low <= high"):
        SynthRanges(noise=(0.8, 0.2))
    with pytest.raises(ValueError, match="Nyquist"):
        SynthRanges(freq_hz=(10, 200))
