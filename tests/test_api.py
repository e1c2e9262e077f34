"""The Python API: load_model, Model.fuse on numpy and xarray, open_segy, write_segy_like."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import cube, synth_segy, trace_headers, write_segy

import seisfuse
from seisfuse.segy import open_volume


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "s.sgy"
    synth_segy(path, inlines=6, crosslines=30, samples=48, faults=1, seed=12)
    return path


def test_fuse_matches_predict_on_numpy_and_xarray(trained, survey, tmp_path, run_cli):
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", survey, "--output", tmp_path / "p.sgy",
                           "--num-workers", "0", "--quiet")
    assert code == 0, err
    model = seisfuse.load_model(trained)
    assert isinstance(model, seisfuse.Model) and model.settings.clip_percentile == 99.5
    ds = seisfuse.open_segy(survey)
    with open_volume(tmp_path / "p.sgy") as predicted:
        expected = predicted.section("inline", 3)  # (samples, traces)
    section = ds["data"].sel(iline=103)  # dims (xline, twt), clip from the whole file as predict does
    fused = model.fuse(section)
    assert isinstance(fused, xr.DataArray) and fused.dims == ("xline", "twt")
    assert fused.coords["iline"] == 103 and np.array_equal(fused.xline, section.xline)
    np.testing.assert_allclose(fused.values.T, expected, rtol=1e-4, atol=1e-5)
    turned = model.fuse(section.transpose("twt", "xline"))
    assert turned.dims == ("twt", "xline")
    np.testing.assert_allclose(turned.values, expected, rtol=1e-4, atol=1e-5)
    clip = seisfuse.api.file_clip(survey, 99.5)
    plain = model.fuse(section.values.T, clip=clip)  # numpy (samples, traces) in, numpy out
    assert isinstance(plain, np.ndarray) and plain.shape == expected.shape
    np.testing.assert_allclose(plain, expected, rtol=1e-4, atol=1e-5)
    volume = model.fuse(ds["data"])
    assert volume.dims == ("iline", "xline", "twt")
    np.testing.assert_allclose(volume.sel(iline=103).values.T, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(seisfuse.SeisfuseError, match="no sample dimension"):
        model.fuse(xr.DataArray(np.ones((4, 5)), dims=("a", "b")))


@pytest.mark.parametrize("layout", ["3d", "crossline_sorted", "2d"])
def test_open_segy_dims_coordinates_and_laziness(tmp_path, layout, monkeypatch):
    if layout == "2d":
        data = cube(1, 40, 25, seed=3)
        path = write_segy(tmp_path / "l.sgy", data, iline_byte=9, xline_byte=21, xlines=np.arange(500, 540))
    else:
        data = cube(5, 7, 25, seed=3)
        path = write_segy(tmp_path / "v.sgy", data, ilines=np.arange(10, 15), xlines=np.arange(70, 77),
                          sorting="crossline" if layout == "crossline_sorted" else "inline")
    from seisfuse.segy.volume import Volume

    read = []
    original = Volume.read_traces
    monkeypatch.setattr(Volume, "read_traces", lambda self, idx: read.append(len(idx)) or original(self, idx))
    ds = seisfuse.open_segy(path)
    assert read == [], "opening reads headers only"
    if layout != "2d":
        assert ds["data"].sel(iline=12).values.shape == (7, 25)
        assert sum(read) == 7, "one inline reads its 7 traces, nothing else"
    assert ds["data"].attrs["units"] == "amplitude" and "seisfuse test file" in ds.attrs["text"]
    if layout == "2d":
        assert ds["data"].dims == ("cdp", "twt") and list(ds.cdp.values[[0, -1]]) == [500, 539]
        np.testing.assert_array_equal(ds["data"].values, data[0])
    else:
        assert ds["data"].dims == ("iline", "xline", "twt") and list(ds.iline.values) == list(range(10, 15))
        np.testing.assert_array_equal(ds["data"].sel(xline=73).values, data[:, 3])
        assert ds.cdp_x.dims == ("iline", "xline") and np.isfinite(ds.cdp_x.values).all()
    assert ds.twt.attrs["units"] == "ms" and float(ds.twt[1] - ds.twt[0]) == 4.0


def test_write_segy_like_keeps_every_header(tmp_path):
    data = cube(4, 6, 20, seed=8)
    src = write_segy(tmp_path / "src.sgy", data, ilines=np.arange(1, 5), xlines=np.arange(1, 7))
    ds = seisfuse.open_segy(src)
    doubled = ds["data"] * 2
    out = seisfuse.write_segy_like(src, tmp_path / "out.sgy", doubled.transpose("twt", "xline", "iline"))
    assert out.read_bytes()[:3600] == src.read_bytes()[:3600] and trace_headers(out) == trace_headers(src)
    with open_volume(out) as vol:
        np.testing.assert_allclose(vol.section("inline", 2), 2 * data[2].T, rtol=1e-6)
    seisfuse.write_segy_like(src, tmp_path / "np.sgy", data * 3)  # numpy in the grid's order
    with open_volume(tmp_path / "np.sgy") as vol:
        np.testing.assert_allclose(vol.section("crossline", 1), 3 * data[:, 1].T, rtol=1e-6)
    with pytest.raises(seisfuse.SeisfuseError, match="does not fit"):
        seisfuse.write_segy_like(src, tmp_path / "bad.sgy", data[:, :3])
    with pytest.raises(seisfuse.SeisfuseError, match="output is the input"):
        seisfuse.write_segy_like(src, src, data, force=True)


def test_the_readme_snippet_runs_as_written(tmp_path, monkeypatch, run_cli):
    """The README's Python API block, run twice as written on the survey its comment makes."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert run_cli("synth", "survey.sgy", "--inlines", 16, "--crosslines", 64, "--samples", 200)[0] == 0
    for _ in range(2):  # a second run too: the outputs exist then
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "section.png").stat().st_size > 10_000 and (tmp_path / "fused.sgy").is_file()
    assert namespace["fused"].dims == namespace["section"].dims and namespace["same"]["data"].shape == (16, 64, 200)
