"""The synthetic survey: deterministic, physically sensible, written as readable SEG-Y."""

from __future__ import annotations

import numpy as np
import pytest

from seisfuse.segy import open_volume
from seisfuse.synth import SynthConfig, make_survey, ricker


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
