"""Normalization (robust clip, exact inverse, NaN handling) and the preview pictures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REALDATA, cube, write_segy
from matplotlib.image import imread

from seisfuse.branches import fit_normalizer
from seisfuse.errors import SeisfuseError
from seisfuse.normalize import Normalizer, sanitize, stats_of_traces
from seisfuse.segy import open_volume


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e12])
def test_round_trip_at_any_amplitude_scale(tmp_path, scale):
    data = cube(8, 8, 40, seed=3) * np.float32(scale)
    path = write_segy(tmp_path / "s.sgy", data)
    with open_volume(path) as vol:
        norm = fit_normalizer(vol, percentile=99.5)
        assert norm.clip == pytest.approx(np.percentile(np.abs(data.astype(np.float64)), 99.5), rel=1e-6)
        sec = vol.section("inline", 3)
    y = norm.forward(sec)
    assert y.dtype == np.float32 and y.min() >= 0 and y.max() <= 1
    assert norm.forward(np.zeros(3))[0] == pytest.approx(0.5)
    inside = np.abs(sec) <= norm.clip
    # exact up to float32 resolution of the [0, 1] value: 2^-24 of the clip range
    np.testing.assert_allclose(norm.inverse(y)[inside], sec[inside], rtol=0, atol=norm.clip * 4e-7)
    assert np.all(np.abs(norm.inverse(y)[~inside]) == pytest.approx(norm.clip, rel=1e-6))


def test_stats_use_a_sample_of_live_traces(tmp_path):
    data = cube(10, 10, 30, seed=4)
    data[0] = 0  # a dead inline
    path = write_segy(tmp_path / "d.sgy", data)
    with open_volume(path) as vol:
        st = stats_of_traces(vol.sample_traces(n_traces=50, seed=1), vol.path)
        assert st.traces_sampled == 50 and st.dead_in_sample >= 1
        assert st.minimum < 0 < st.maximum
        assert stats_of_traces(vol.sample_traces(n_traces=50, seed=1), vol.path) == st  # reproducible


def test_nan_and_inf_are_dead_and_counted(tmp_path):
    data = cube(4, 4, 20, seed=5)
    data[1, 1, 3] = np.nan
    data[2, 2, 5] = np.inf
    path = write_segy(tmp_path / "n.sgy", data)
    with open_volume(path) as vol:
        st = stats_of_traces(vol.sample_traces(), vol.path)
        assert st.nonfinite == 2 and np.isfinite(st.maximum)
        norm = fit_normalizer(vol)
        sec = vol.section("inline", 1)
    assert np.isnan(sec).sum() == 1
    y = norm.forward(sec)
    assert np.isfinite(y).all() and y[3, 1] == pytest.approx(0.5)
    clean, n = sanitize(sec)
    assert n == 1 and clean[3, 1] == 0


@pytest.mark.parametrize("value,message", [(0.0, "dead"), (3.5, "constant volume")])
def test_constant_volumes_are_clear_errors(tmp_path, value, message):
    path = write_segy(tmp_path / "c.sgy", np.full((3, 3, 10), value, np.float32))
    with pytest.raises(SeisfuseError, match=message) as err, open_volume(path) as vol:  # dead: refused at open
        fit_normalizer(vol)
    assert str(path) in str(err.value)


def test_normalizer_validates():
    with pytest.raises(ValueError):
        Normalizer(clip=0.0)
    assert Normalizer(clip=2.0).to_dict() == {"clip": 2.0, "percentile": 99.5}


# ---------------------------------------------------------------- pictures
def _check_png(path, width, height):
    img = imread(path)
    assert img.shape[:2] == (height, width)
    rgb = img[..., :3]
    assert rgb.std() > 0.05, "the picture is blank"
    colours = np.unique((rgb.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    assert len(colours) > 50, "a seismic panel has many colours"


def test_preview_png_has_expected_size_and_content(tmp_path, run_cli):
    vol = tmp_path / "s.sgy"
    assert run_cli("synth", vol, "--inlines", 16, "--crosslines", 40, "--samples", 80)[0] == 0
    out = tmp_path / "panel.png"
    code, stdout, err = run_cli("preview", vol, "--section", "inline:105", "--out", out, "--no-model")
    assert code == 0, err
    _check_png(out, 900, 500)  # two 4 x 5 inch panels and the shared colour bar at 100 dpi
    code, _, err = run_cli("preview", vol, "--section", "time:100", "--out", tmp_path / "t.png", "--no-model")
    assert code == 0, err
    _check_png(tmp_path / "t.png", 900, 500)


def test_preview_uses_the_config_pipeline(tmp_path, run_cli):
    vol = tmp_path / "s.sgy"
    run_cli("synth", vol, "--inlines", 8, "--crosslines", 30, "--samples", 60)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("data:\n  edges:\n    - {op: sobel, gain: 4}\n")
    assert run_cli("preview", vol, "--config", cfg, "--out", tmp_path / "p.png")[0] == 0
    cfg.write_text("data:\n  edges:\n    - {op: sobell}\n")
    code, _, err = run_cli("preview", vol, "--config", cfg, "--out", tmp_path / "q.png")
    assert code == 2 and str(cfg) in err and "unknown edge op 'sobell'" in err  # a config mistake, as in `fit`
    assert not (tmp_path / "q.png").exists()


@pytest.mark.parametrize("section,message", [("inline:5", "no inline 5"), ("depth:3", "use inline:K"),
                                             ("time:99999", "outside")])
def test_preview_bad_sections(tmp_path, run_cli, section, message):
    vol = tmp_path / "s.sgy"
    run_cli("synth", vol, "--inlines", 8, "--crosslines", 30, "--samples", 60)
    code, _, err = run_cli("preview", vol, "--section", section, "--out", tmp_path / "p.png", "--no-model")
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not (REALDATA / "ln472_old.sgy").exists(), reason="real data not present")
def test_preview_real_2d_line(tmp_path, run_cli):
    code, _, err = run_cli("preview", REALDATA / "ln472_old.sgy", "--out", tmp_path / "l.png", "--no-model")
    assert code == 0, err
    _check_png(tmp_path / "l.png", 900, 500)


def test_vertical_axis_is_named_from_the_file_and_compare_draws_one_panel_per_volume(tmp_path, run_cli):
    import segyio
    from matplotlib.image import imread

    from seisfuse.evaluation.views import View, view_extent
    from seisfuse.segy import open_volume

    data = cube(4, 12, 30, seed=2)
    time_file = write_segy(tmp_path / "t.sgy", data)
    depth_file = write_segy(tmp_path / "d.sgy", data)
    with segyio.open(depth_file, "r+", ignore_geometry=True) as f:
        f.text[0] = segyio.tools.create_text_header({1: "DEPTH MIGRATED VOLUME", 2: "Z DOMAIN: DEPTH (METERS)"})
        f.bin.update(mfeet=1)
    with open_volume(time_file) as t, open_volume(depth_file) as d:
        assert t.vertical == ("twt", "ms") and d.vertical == ("depth", "m")
        assert view_extent(t, View("inline", 0, "")).y_label == "time (ms)"
        assert view_extent(d, View("inline", 0, "")).y_label == "depth (m)"
    other = write_segy(tmp_path / "o.sgy", data * 0.5)
    out = tmp_path / "cmp.png"
    code, stdout, err = run_cli("compare", time_file, other, depth_file, "--section", "inline:2", "--out", out,
                                "--titles", "input", "half", "depth")
    assert code == 0, err
    assert "3 volumes" in stdout and imread(out).shape[1] == 1300, "three 4-inch panels and the colour bar at 100 dpi"
    code, _, err = run_cli("compare", time_file, write_segy(tmp_path / "x.sgy", cube(3, 3, 30)), "--out", tmp_path / "b.png")
    assert code == 1 and "geometry differs" in err
