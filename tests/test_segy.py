"""SEG-Y reading, geometry detection and writing on real files written with segyio."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import segyio
from conftest import REALDATA, cube, trace_headers, write_segy

from seisfuse.errors import SeisfuseError
from seisfuse.files import atomic_output, check_output
from seisfuse.segy import FORMATS, HeaderBytes, create_output, describe, open_volume

INT_FORMATS = [2, 3, 8, 9]
UNSIGNED_FORMATS = [10, 11, 12, 16]


@pytest.mark.parametrize("endian", ["big", "little"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip_every_format_and_byte_order(tmp_path, fmt, endian):
    data = cube(integer=fmt != 1 and fmt not in (5, 6))
    if fmt in UNSIGNED_FORMATS:
        data = np.abs(data)
    if fmt in (8, 16):
        data = np.clip(data, -100, 100)
    path = write_segy(tmp_path / f"f{fmt}{endian}.sgy", data, fmt=fmt, endian=endian)
    with open_volume(path) as vol:
        assert vol.format == fmt
        assert vol.endian == endian
        assert vol.geometry.sorting == "inline"
        for k in range(data.shape[0]):
            got = vol.section("inline", k)
            assert got.dtype == np.float32 and got.shape == (data.shape[2], data.shape[1])
            np.testing.assert_allclose(got, data[k].T, rtol=1e-6)
        for k in range(data.shape[1]):
            np.testing.assert_allclose(vol.section("crossline", k), data[:, k].T, rtol=1e-6)


def test_geometry_of_standard_file(tiny_segy):
    path, data = tiny_segy
    with open_volume(path) as vol:
        g = vol.geometry
        assert g.kind == "3d" and g.regular and g.header_bytes == HeaderBytes(189, 193)
        assert list(g.ilines) == list(range(1, 7)) and list(g.xlines) == list(range(1, 6))
        assert vol.axes == ("inline", "crossline")
        assert vol.n_sections("inline") == 6 and vol.n_sections("crossline") == 5
        assert vol.dt_ms == 4.0 and vol.n_samples == 20
        np.testing.assert_array_equal(vol.time_slice(7), data[:, :, 7])
        assert vol.section_index("inline", 3) == 2
        with pytest.raises(SeisfuseError, match="inline 99"):
            vol.section_index("inline", 99)


def test_crossline_sorted(tmp_path):
    data = cube(5, 7, 16, seed=1)
    path = write_segy(tmp_path / "xl.sgy", data, sorting="crossline")
    with open_volume(path) as vol:
        assert vol.geometry.sorting == "crossline"
        for k in range(5):
            np.testing.assert_array_equal(vol.section("inline", k), data[k].T)
        for k in range(7):
            np.testing.assert_array_equal(vol.section("crossline", k), data[:, k].T)


def test_irregular_and_unsorted(tmp_path):
    data = cube(5, 6, 12, seed=2)
    missing = {(0, 0), (0, 1), (2, 3), (4, 5)}
    path = write_segy(tmp_path / "irr.sgy", data, missing=missing, shuffle=3)
    with open_volume(path) as vol:
        g = vol.geometry
        assert g.n_missing == 4 and not g.regular and vol.n_traces == 26
        assert g.sorting == "unsorted"
        expected = data.copy()
        for i, j in missing:
            expected[i, j] = 0
        for k in range(5):
            np.testing.assert_array_equal(vol.section("inline", k), expected[k].T)
        for k in range(6):
            np.testing.assert_array_equal(vol.section("crossline", k), expected[:, k].T)
        np.testing.assert_array_equal(vol.time_slice(3), expected[:, :, 3])
        assert describe(vol)["missing_traces"] == 4


def test_2d_line_with_empty_189_193(tmp_path):
    """Real 2D files often leave 189/193 empty: line number at 9, CDP at 21."""
    data = cube(1, 40, 30, seed=4)
    path = write_segy(tmp_path / "line.sgy", data, iline_byte=9, xline_byte=21, xlines=np.arange(840, 880))
    with open_volume(path) as vol:
        assert vol.geometry.kind == "2d"
        assert vol.axes == ("inline",) and vol.n_sections("inline") == 1
        assert list(vol.geometry.xlines[[0, -1]]) == [840, 879]
        np.testing.assert_array_equal(vol.section("inline", 0), data[0].T)
        with pytest.raises(SeisfuseError, match="2D line"):
            vol.section("crossline", 0)


def test_petrel_bytes_detected_and_explicit(tmp_path):
    data = cube(4, 5, 10, seed=5)
    path = write_segy(tmp_path / "petrel.sgy", data, iline_byte=5, xline_byte=21, ilines=[10, 11, 12, 13],
                      xlines=[20, 22, 24, 26, 28])
    with open_volume(path) as vol:
        assert vol.geometry.header_bytes == HeaderBytes(5, 21)
        assert vol.geometry.kind == "3d"
        np.testing.assert_array_equal(vol.section("crossline", 2), data[:, 2].T)
    with open_volume(path, HeaderBytes(5, 21)) as vol:
        assert list(vol.geometry.ilines) == [10, 11, 12, 13]
    with pytest.raises(SeisfuseError, match="give no post-stack geometry"):
        open_volume(path, HeaderBytes(189, 193))


def test_unstructured_file_falls_back_to_file_order(tmp_path, caplog, run_cli):
    data = cube(1, 9, 10, seed=6)
    path = write_segy(tmp_path / "bare.sgy", data, iline_byte=None, xline_byte=17, xlines=np.zeros(9, int),
                      extra_headers=False)
    with caplog.at_level("INFO", logger="seisfuse"), open_volume(path) as vol:
        assert vol.geometry.header_bytes is None and vol.geometry.kind == "2d"
        np.testing.assert_array_equal(vol.section("inline", 0), data[0].T)
    assert any("file order" in r.getMessage() for r in caplog.records)
    code, _, err = run_cli("info", path, "--no-scan")
    assert code == 0
    assert f"seisfuse: note: {path}: inline/crossline at bytes 189/193 hold no values, and no other usual header words" \
        in err, "one plain line"
    assert "Warning" not in err and "segy" not in err.replace(str(path), "").replace("seisfuse", "")


@pytest.mark.parametrize("fmt,endian", [(5, "big"), (1, "big"), (5, "little"), (6, "big"), (3, "big"), (2, "little")])
def test_write_keeps_every_header_byte(tmp_path, fmt, endian):
    data = cube(5, 4, 16, seed=7, integer=fmt in (2, 3))
    src = write_segy(tmp_path / "src.sgy", data, fmt=fmt, endian=endian, missing={(1, 1)})
    before = src.read_bytes()
    new = (np.arange(5 * 4 * 16, dtype=np.float32).reshape(5, 4, 16) * 0.37 - 9.5)
    out_path = tmp_path / "out.sgy"
    with open_volume(src) as vol, atomic_output(out_path) as tmp:
        out = create_output(vol, tmp)
        for k in range(vol.n_sections("inline")):
            out.write_section("inline", k, new[k].T)
        out.close()
    assert src.read_bytes() == before, "the source must never change"
    src_raw, out_raw = before, out_path.read_bytes()
    assert out_raw[:3200] == src_raw[:3200], "text header"
    bin_src, bin_out = bytearray(src_raw[3200:3600]), bytearray(out_raw[3200:3600])
    out_fmt = int.from_bytes(bin_out[24:26], endian)
    assert out_fmt == (fmt if fmt in (1, 5, 6) else 5), "integer sources become IEEE float, never narrowed"
    bin_src[24:26] = bin_out[24:26] = b"\0\0"
    assert bin_out == bin_src, "binary header apart from the format code"
    assert trace_headers(out_path, endian) == trace_headers(src, endian)
    with open_volume(out_path) as back:
        expected = new.copy()
        expected[1, 1] = 0  # no trace there: nothing written
        for k in range(5):
            got = back.section("inline", k)
            expected_k = expected[k].T.copy()
            expected_k[:, back.section_positions("inline", k) < 0] = 0
            np.testing.assert_allclose(got, expected_k, rtol=1e-6, atol=1e-6)


def test_integer_source_keeps_fractional_samples(tmp_path):
    src = write_segy(tmp_path / "i16.sgy", cube(3, 3, 8, integer=True), fmt=3)
    with open_volume(src) as vol, atomic_output(tmp_path / "o.sgy") as tmp:
        out = create_output(vol, tmp)
        out.write_section("inline", 0, np.full((8, 3), 0.25, np.float32))
        out.close()
    with open_volume(tmp_path / "o.sgy") as back:
        assert back.format == 5
        np.testing.assert_array_equal(back.section("inline", 0), 0.25)


def test_volume_pickles_and_reopens(tiny_segy):
    path, data = tiny_segy
    with open_volume(path) as vol:
        vol.section("inline", 0)
        clone = pickle.loads(pickle.dumps(vol))
    np.testing.assert_array_equal(clone.section("inline", 2), data[2].T)
    clone.close()


def test_scan_live_finds_dead_traces_and_nan(tmp_path):
    data = cube(3, 4, 10, seed=8)
    data[1, 2] = 0
    data[0, 0, :3] = 0
    data[2, 3, 4] = np.nan
    path = write_segy(tmp_path / "dead.sgy", data)
    with open_volume(path) as vol:
        first, last, nonfinite = vol.scan_live(chunk=5)
        assert nonfinite == 1
        assert first[1 * 4 + 2] == -1 and last[1 * 4 + 2] == -1
        assert first[0] == 3 and last[0] == 9
        assert describe(vol)["dead_traces"] == 1


# ---------------------------------------------------------------- bad input
def _bad_files(tmp: Path, good: Path) -> dict[str, tuple[Path, str]]:
    raw = good.read_bytes()
    (tmp / "folder").mkdir()
    (tmp / "text.txt").write_text("this is not seismic\n" * 300)
    (tmp / "random.bin").write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    (tmp / "truncated.sgy").write_bytes(raw[:-37])
    (tmp / "empty.sgy").write_bytes(raw[:3600])
    (tmp / "short.sgy").write_bytes(raw[:1000])
    return {
        "missing": (tmp / "nope.sgy", "no such file"),
        "directory": (tmp / "folder", "directory"),
        "text": (tmp / "text.txt", "not a SEG-Y file"),
        "random": (tmp / "random.bin", "not a SEG-Y file"),
        "truncated": (tmp / "truncated.sgy", "truncated"),
        "zero traces": (tmp / "empty.sgy", "no traces"),
        "short": (tmp / "short.sgy", "smaller than"),
    }


def test_bad_files_give_one_line_errors(tmp_path, tiny_segy, run_cli):
    for name, (path, problem) in _bad_files(tmp_path, tiny_segy[0]).items():
        code, out, err = run_cli("info", path)
        assert code != 0, name
        lines = err.strip().splitlines()
        assert len(lines) == 1, (name, err)
        assert str(path) in lines[0] and problem in lines[0], (name, lines[0])
        assert "Traceback" not in err


def test_bytes_without_geometry_is_an_error(tiny_segy, run_cli):
    code, _, err = run_cli("info", tiny_segy[0], "--iline-byte", 9, "--xline-byte", 13)
    assert code == 1 and "give no post-stack geometry" in err and str(tiny_segy[0]) in err
    code, _, err = run_cli("info", tiny_segy[0], "--iline-byte", 190)
    assert code == 1 and "190" in err


def test_output_equal_to_input_refused(tiny_segy, tmp_path):
    path = tiny_segy[0]
    with pytest.raises(SeisfuseError, match="output is the input"):
        check_output(path, [path], force=True)
    link = tmp_path / "link.sgy"
    os.symlink(path, link)
    with pytest.raises(SeisfuseError, match="output is the input"):
        check_output(link, [path], force=True)
    with pytest.raises(SeisfuseError, match="--force"):
        check_output(path, [], force=False)


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.sgy"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_outputs_get_the_usual_file_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"data")
    finally:
        os.umask(mask)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644


def test_cli_error_has_no_traceback_and_debug_shows_it(tmp_path):
    cmd = [sys.executable, "-m", "seisfuse.cli", "info", str(tmp_path / "nope.sgy")]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == f"seisfuse: error: {tmp_path / 'nope.sgy'}: no such file"
    res = subprocess.run(cmd + ["--debug"], capture_output=True, text=True)
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_info_prints_the_facts(tiny_segy, run_cli):
    code, out, _ = run_cli("info", tiny_segy[0])
    assert code == 0
    for fact in ("4-byte IEEE float", "inline 189, crossline 193", "1..6 (6)", "1..5 (5)", "sample interval ms  4.0",
                 "dead traces", "seisfuse test file"):
        assert fact in out, fact
    code, out, _ = run_cli("info", tiny_segy[0], "--no-scan", "--json")
    info = json.loads(out)
    assert code == 0 and "dead_traces" not in info and info["traces"] == 30 and info["amplitudes"]["rms"] > 0


# ---------------------------------------------------------------- real field data (optional)
@pytest.mark.skipif(not (REALDATA / "F3_very_small.sgy").exists(), reason="real data not present")
def test_real_f3_ibm_3d():
    with open_volume(REALDATA / "F3_very_small.sgy") as vol:
        assert vol.format == 1 and vol.geometry.kind == "3d" and vol.geometry.regular
        assert (len(vol.geometry.ilines), len(vol.geometry.xlines), vol.n_samples) == (11, 11, 463)
        assert vol.section("crossline", 3).shape == (463, 11)
        assert "OpendTect" in vol.text_header
    with segyio.open(REALDATA / "F3_very_small.sgy") as f:  # segyio's own geometry as the reference
        np.testing.assert_array_equal(vol.section("inline", 4), f.iline[f.ilines[4]].T)


@pytest.mark.skipif(not (REALDATA / "ln472_old.sgy").exists(), reason="real data not present")
def test_real_2d_line():
    with open_volume(REALDATA / "ln472_old.sgy") as vol:
        assert vol.geometry.kind == "2d" and vol.geometry.header_bytes.xline == 21
        sec = vol.section("inline", 0)
        assert sec.shape == (751, 201) and np.abs(sec).max() > 0


@pytest.mark.parametrize("n_ext", [1, 3])
def test_extended_textual_headers_are_read_shown_and_kept(tmp_path, run_cli, n_ext):
    data = cube(4, 5, 30, seed=3)
    path = write_segy(tmp_path / "ext.sgy", data, ext_headers=n_ext)
    with segyio.open(path, ignore_geometry=True) as f:
        assert f.ext_headers == n_ext, "segyio agrees that the file has extended headers"
    with open_volume(path) as vol:
        assert vol.ext_headers == n_ext and vol.data_offset == 3600 + 3200 * n_ext
        np.testing.assert_array_equal(vol.section("inline", 2), data[2].T)
        assert [f"extended header {k} of {n_ext}" in t for k, t in enumerate(vol.extended_text_headers, 1)] == [True] * n_ext
    code, out, err = run_cli("info", path)
    assert code == 0, err
    assert re.search(rf"^ext text headers\s+{n_ext}$", out, re.MULTILINE)
    assert f"extended text header {n_ext}:" in out and f"extended header {n_ext} of {n_ext}" in out
    out_path = tmp_path / "copy.sgy"
    with open_volume(path) as src, create_output(src, out_path) as dst:
        for k in range(dst.n_sections("inline")):
            dst.write_section("inline", k, np.full((30, 5), float(k), np.float32))
    raw_in, raw_out = path.read_bytes(), out_path.read_bytes()
    assert raw_out[: 3600 + 3200 * n_ext] == raw_in[: 3600 + 3200 * n_ext], "extended headers byte-identical"
    assert trace_headers(out_path, ext_headers=n_ext) == trace_headers(path, ext_headers=n_ext)
    with open_volume(out_path) as vol:
        assert np.all(vol.section("inline", 3) == 3.0)


@pytest.mark.parametrize("sorting", ["inline", "crossline"])
def test_strided_sections_are_read_in_blocks_equal_to_single_reads(tmp_path, sorting, monkeypatch):
    from seisfuse.segy.volume import Volume

    data = cube(6, 9, 12, seed=2)
    path = write_segy(tmp_path / "v.sgy", data, sorting=sorting, missing={(1, 2), (4, 7)})
    with open_volume(path) as vol:
        strided = "crossline" if sorting == "inline" else "inline"
        assert vol.strided(strided) and not vol.strided("inline" if strided == "crossline" else "crossline")
        width = vol.section_width(strided)
        calls = []
        original = Volume.read_traces
        monkeypatch.setattr(Volume, "read_traces", lambda self, idx: calls.append(len(idx)) or original(self, idx))
        blocks = dict(vol.sections_in_blocks(strided, max_bytes=3 * width * 12 * 4))  # 3 sections per block
        n = vol.n_sections(strided)
        assert len(calls) == -(-n // 3), "one read per block of 3 sections"
        monkeypatch.setattr(Volume, "read_traces", original)
        for k in range(n):
            np.testing.assert_array_equal(blocks[k], vol.section(strided, k))


def test_info_shows_the_text_header_without_its_empty_cards(tmp_path, run_cli):
    from conftest import synth_segy

    path = synth_segy(tmp_path / "s.sgy", inlines=2, crosslines=4, samples=16, seed=1)
    code, out, _ = run_cli("info", path, "--no-scan")
    assert code == 0 and "SEISFUSE SYNTHETIC SURVEY" in out
    assert not re.search(r"^  C\s*\d+\s*$", out, re.MULTILINE), "no card without text"
    assert "(34 empty cards not shown)" in out
