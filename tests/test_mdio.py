"""MDIO input and output: ingested with MDIO's own segy_to_mdio, fused equal to the SEG-Y, headers kept."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import synth_segy

from seisfuse.segy import is_mdio, open_volume

mdio = pytest.importorskip("mdio", reason="the mdio extra (pip install 'seisfuse[mdio]') is not installed")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A synthetic SEG-Y and its MDIO copy made by MDIO's ingestion (PostStack3DTime, SEG-Y rev 1 bytes)."""
    from mdio.builder.template_registry import get_template
    from segy.standards import get_segy_standard

    folder = tmp_path_factory.mktemp("mdio")
    sgy = folder / "s.sgy"
    synth_segy(sgy, inlines=6, crosslines=20, samples=40, faults=1, seed=21)
    out = folder / "s.mdio"
    mdio.segy_to_mdio(segy_spec=get_segy_standard(1.0), mdio_template=get_template("PostStack3DTime"),
                      input_path=sgy, output_path=out, overwrite=True)
    return sgy, out


def test_mdio_sections_equal_the_segy(pair):
    sgy, md = pair
    assert is_mdio(md) and not is_mdio(sgy)
    with open_volume(sgy) as a, open_volume(md) as b:
        assert b.axes == a.axes and list(b.geometry.ilines) == list(a.geometry.ilines)
        assert b.vertical == ("twt", "ms") and b.dt_ms == a.dt_ms
        for axis in a.axes:
            for k in range(a.n_sections(axis)):
                np.testing.assert_array_equal(b.section(axis, k), a.section(axis, k))
        np.testing.assert_array_equal(b.time_slice(7), a.time_slice(7))
        np.testing.assert_array_equal(b.read_traces(np.array([3, 4, 40, 41, 99])), a.read_traces(np.array([3, 4, 40, 41, 99])))


def test_fusing_the_mdio_copy_equals_fusing_the_segy(trained, pair, tmp_path, run_cli):
    sgy, md = pair
    for src, out in ((sgy, tmp_path / "f.sgy"), (md, tmp_path / "f.mdio")):
        code, stdout, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", out, "--axis", "both",
                                    "--num-workers", "0", "--quiet")
        assert code == 0, err
    assert not list(tmp_path.glob(".*.part")), "no temporary folder left"
    with open_volume(tmp_path / "f.sgy") as a, open_volume(tmp_path / "f.mdio") as b:
        for k in range(a.n_sections("inline")):
            np.testing.assert_allclose(b.section("inline", k), a.section("inline", k), rtol=1e-5, atol=1e-5)
    import zarr

    src, fused = zarr.open_group(str(md), mode="r"), zarr.open_group(str(tmp_path / "f.mdio"), mode="r")
    assert np.array_equal(src["headers"][:], fused["headers"][:]) and np.array_equal(src["trace_mask"][:],
                                                                                       fused["trace_mask"][:])
    assert not np.array_equal(src["amplitude"][:], fused["amplitude"][:])
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", md, "--output", tmp_path / "x.sgy")
    assert code == 1 and "name the output *.mdio" in err
    code, out, err = run_cli("evaluate", "--input", md, "--fused", tmp_path / "f.mdio", "--sections", "2")
    assert code == 0 and "f.mdio" in out, err


def test_without_the_extra_a_clear_message(pair, monkeypatch, run_cli):
    monkeypatch.setitem(sys.modules, "mdio", None)  # as if multidimio were not installed
    code, _, err = run_cli("info", pair[1], "--no-scan")
    assert code == 1 and "pip install 'seisfuse[mdio]'" in err and len(err.strip().splitlines()) == 1


def rechunked(md, dst, chunks):
    """A copy of an MDIO dataset whose amplitude array has other chunks (MDIO's defaults exceed tiny volumes)."""
    import shutil

    import zarr

    shutil.copytree(md, dst)
    group = zarr.open_group(str(dst), mode="r+")
    old = group["amplitude"]
    data = old[:]
    new = group.create_array("amplitude", shape=old.shape, dtype=old.dtype, chunks=chunks,
                             dimension_names=old.metadata.dimension_names, attributes=dict(old.attrs),
                             fill_value=old.fill_value, overwrite=True)
    new[:] = data
    return dst


def test_chunked_mdio_is_read_and_written_in_whole_chunk_rows(trained, pair, tmp_path, run_cli, monkeypatch):
    from seisfuse.segy.mdio import MdioOutput

    sgy, md = pair
    slabs: list[int] = []
    write_rows = MdioOutput._write_rows
    monkeypatch.setattr(MdioOutput, "_write_rows", lambda self, axis, sections: (slabs.append(len(sections)),
                                                                                  write_rows(self, axis, sections)))
    small = rechunked(md, tmp_path / "c.mdio", (4, 8, 40))  # 6 inlines: chunk rows 0-3, 4-5; 20 crosslines: 8, 8, 4
    with open_volume(sgy) as a, open_volume(small) as b:
        assert (b.section_chunk("inline"), b.section_chunk("crossline")) == (4, 8)
        assert b.strided("inline") and b.strided("crossline") and b.block_size("crossline", 1) == 8
        for axis in ("inline", "crossline"):
            got = [k for k, _ in b.sections_in_blocks(axis, max_bytes=1)]
            assert got == list(range(a.n_sections(axis)))
            for k, section in b.sections_in_blocks(axis, max_bytes=1):
                np.testing.assert_array_equal(section, a.section(axis, k))
        np.testing.assert_array_equal(b.section_block("crossline", [9, 11, 12]),
                                      np.stack([a.section("crossline", k) for k in (9, 11, 12)]))
    for axis, rows in (("inline", [4, 2]), ("crossline", [8, 8, 4])):
        slabs.clear()
        outs = {}
        for src, out in ((sgy, tmp_path / f"{axis}.sgy"), (small, tmp_path / f"{axis}.mdio")):
            code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", out, "--axis", axis,
                                   "--batch-size", "3", "--num-workers", "0", "--quiet")
            assert code == 0, err
            outs[out.suffix] = out
        assert slabs == rows, "one slab per chunk row, never a chunk per section"
        with open_volume(outs[".sgy"]) as a, open_volume(outs[".mdio"]) as b:
            for k in range(a.n_sections(axis)):  # every chunk row written, the partial last one too
                np.testing.assert_allclose(b.section(axis, k), a.section(axis, k), rtol=1e-5, atol=1e-5)


def test_python_api_opens_and_writes_mdio_like_segy(pair, tmp_path):
    """open_segy and write_segy_like take MDIO through the volume contract (they crashed before)."""
    import seisfuse

    sgy, md = pair
    ds_s, ds_m = seisfuse.open_segy(sgy), seisfuse.open_segy(md)
    assert ds_m["data"].dims == ds_s["data"].dims and ds_m["data"].shape == ds_s["data"].shape
    np.testing.assert_array_equal(ds_m["data"].sel(iline=ds_m.iline[2]).values, ds_s["data"].sel(iline=ds_s.iline[2]).values)
    assert np.isfinite(ds_m["cdp_x"].values).all() and np.allclose(ds_m["cdp_x"].values, ds_s["cdp_x"].values)
    doubled = 2.0 * ds_m["data"]
    out = seisfuse.write_segy_like(md, tmp_path / "twice.mdio", doubled)
    assert out.is_dir() and not list(tmp_path.glob(".*.part")), "written as a folder, atomically"
    with open_volume(out) as back, open_volume(md) as src:
        np.testing.assert_allclose(back.section("inline", 3), 2.0 * src.section("inline", 3), rtol=1e-6)
    import zarr

    assert np.array_equal(zarr.open_group(str(md), mode="r")["headers"][:], zarr.open_group(str(out), mode="r")["headers"][:])
    with pytest.raises(seisfuse.SeisfuseError, match="written as MDIO"):
        seisfuse.write_segy_like(md, tmp_path / "x.sgy", doubled)
