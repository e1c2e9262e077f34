"""Inference over SEG-Y files: headers, amplitudes, geometries, axes, ranks, interruption, evaluation, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SLOW_LIMIT_S, cube, slurm_job_id, synth_segy, trace_headers, write_segy
from matplotlib.image import imread

from seisfuse.inference.fusers import baseline_fuser, load_fuser
from seisfuse.inference.predict import predict_volume
from seisfuse.inference.tiles import Tiling, blend_window, tile_starts, tiled
from seisfuse.segy import open_volume
from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

ROOT = Path(__file__).resolve().parents[1]
SEISFUSE = str(Path(sys.executable).parent / "seisfuse")


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("test_survey")
    cfg = SynthConfig(inlines=12, crosslines=20, samples=48, faults=2, seed=8)
    s = make_survey(cfg)
    paths = {"seismic": folder / "s.sgy", "clean": folder / "c.sgy", "mask": folder / "m.sgy"}
    write_volume(paths["seismic"], s.seismic, cfg)
    write_volume(paths["clean"], s.clean, cfg, "clean")
    write_volume(paths["mask"], s.fault_mask, cfg, "mask")
    return paths


def run(*args: str, timeout: int = SLOW_LIMIT_S, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore", **extra_env}
    return subprocess.run([SEISFUSE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def fuse(ckpt: Path, src: Path, dst: Path, **kw) -> None:
    predict_volume(load_fuser(ckpt), src, dst, num_workers=0, progress=False, **kw)


def robust_amplitude(path: Path) -> float:
    with open_volume(path) as vol:
        data = np.concatenate([vol.section(vol.axes[0], k).ravel() for k in range(vol.n_sections(vol.axes[0]))])
    return float(np.percentile(np.abs(data), 99))


def test_output_keeps_headers_finite_samples_and_amplitude_scale(trained, survey, tmp_path):
    out = tmp_path / "fused.sgy"
    src_bytes = survey["seismic"].read_bytes()
    fuse(trained, survey["seismic"], out)
    assert survey["seismic"].read_bytes() == src_bytes, "input untouched"
    raw_out = out.read_bytes()
    assert raw_out[:3600] == src_bytes[:3600]
    assert trace_headers(out) == trace_headers(survey["seismic"])
    with open_volume(out) as vol, open_volume(survey["seismic"]) as src:
        for k in range(vol.n_sections("inline")):
            fused, raw = vol.section("inline", k), src.section("inline", k)
            assert np.isfinite(fused).all()
            assert not np.array_equal(fused, raw)
            # in the input's units: a fused amplitude is a blend of the raw and edge amplitudes
            assert np.corrcoef(fused.ravel(), raw.ravel())[0, 1] > 0.5
    ratio = robust_amplitude(out) / robust_amplitude(survey["seismic"])
    assert 0.5 < ratio < 2.0


def test_model_reproduces_its_output_when_run_twice(trained, survey, tmp_path):
    fuse(trained, survey["seismic"], tmp_path / "a.sgy", batch_size=3)
    fuse(trained, survey["seismic"], tmp_path / "b.sgy", batch_size=5)
    with open_volume(tmp_path / "a.sgy") as a, open_volume(tmp_path / "b.sgy") as b:
        for k in range(a.n_sections("inline")):
            np.testing.assert_allclose(a.section("inline", k), b.section("inline", k), rtol=1e-5, atol=1e-6)


def test_axis_both_averages_the_two_passes(trained, survey, tmp_path):
    for axis in ("inline", "crossline", "both"):
        fuse(trained, survey["seismic"], tmp_path / f"{axis}.sgy", axis=axis)
    with open_volume(tmp_path / "inline.sgy") as il, open_volume(tmp_path / "crossline.sgy") as xl, \
            open_volume(tmp_path / "both.sgy") as both:
        for k in range(il.n_sections("inline")):
            expected = 0.5 * (il.section("inline", k) + xl.section("inline", k))
            np.testing.assert_allclose(both.section("inline", k), expected, rtol=1e-5, atol=1e-5)
        assert not np.allclose(il.section("inline", 3), xl.section("inline", 3))


@pytest.mark.parametrize("layout", ["crossline_sorted", "int16", "irregular", "2d", "smaller_than_patch", "ibm"])
def test_geometries_and_formats(trained, tmp_path, layout):
    data = cube(7, 9, 30, seed=4) * 50
    kw: dict = {}
    if layout == "crossline_sorted":
        kw = {"sorting": "crossline"}
    elif layout == "int16":
        data, kw = np.round(data), {"fmt": 3}
    elif layout == "irregular":
        kw = {"missing": {(0, 0), (3, 4), (6, 8)}, "shuffle": 1}
    elif layout == "2d":
        data = cube(1, 50, 30, seed=5) * 50
        kw = {"iline_byte": 9, "xline_byte": 21, "xlines": np.arange(100, 150)}
    elif layout == "smaller_than_patch":
        data = cube(3, 5, 12, seed=6)
    elif layout == "ibm":
        kw = {"fmt": 1}
    data[0, 1] = 0  # a dead trace
    src = write_segy(tmp_path / "in.sgy", data, **kw)
    out = tmp_path / "out.sgy"
    fuse(trained, src, out, axis="inline" if layout == "2d" else "both")
    assert trace_headers(out) == trace_headers(src)
    with open_volume(out) as vol:
        assert vol.format == (5 if layout == "int16" else 1 if layout == "ibm" else 5)
        secs = [vol.section("inline", k) for k in range(vol.n_sections("inline"))]
        assert all(np.isfinite(s).all() for s in secs)
        if layout != "2d":
            assert np.all(secs[0][:, 1] == 0), "a dead trace stays dead"
        if layout == "int16":
            assert any(np.any(s != np.round(s)) for s in secs), "float samples, not narrowed to integers"


def test_tiles_blend_back_to_the_whole(tmp_path):
    x = torch.rand(2, 2, 70, 300)
    whole = x.mean(1, keepdim=True)
    np.testing.assert_allclose(tiled(lambda t: t.mean(1, keepdim=True), x, tile=64, overlap=16), whole, atol=1e-6)
    assert tile_starts(300, 64, 16)[-1] == 236 and tile_starts(50, 64, 16) == [0]
    w = blend_window(64, 64, 16)
    assert float(w.min()) > 0 and float(w[32, 32]) == 1.0


def test_large_sections_are_tiled(trained, survey, tmp_path):
    fuse(trained, survey["seismic"], tmp_path / "whole.sgy")
    fuse(trained, survey["seismic"], tmp_path / "tiles.sgy", tiling=Tiling(24, 6))
    with open_volume(tmp_path / "whole.sgy") as a, open_volume(tmp_path / "tiles.sgy") as b:
        x, y = a.section("inline", 5), b.section("inline", 5)
    assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.95  # same result up to the network's border effects


@pytest.mark.slow
def test_two_ranks_write_the_same_file_as_one(trained, survey, tmp_path):
    one, two = tmp_path / "one.sgy", tmp_path / "two.sgy"
    res = run("predict", "--ckpt", trained, "--input", survey["seismic"], "--output", one, "--device", "cpu",
              "--quiet", "--num-workers", "0", "--axis", "both")
    assert res.returncode == 0, res.stderr[-2000:]
    # inside an sbatch job with several tasks, predict still launches its own ranks
    res = run("predict", "--ckpt", trained, "--input", survey["seismic"], "--output", two, "--device", "cpu",
              "--devices", "2", "--quiet", "--num-workers", "0", "--axis", "both", "--verbose",
              SLURM_NTASKS="4", SLURM_JOB_NAME="seisfuse", SLURM_JOB_ID=slurm_job_id())
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("wrote") == 1, "one summary line, from rank zero"
    assert "MEMBER: 2/2" in res.stderr
    assert trace_headers(two) == trace_headers(one)
    with open_volume(one) as a, open_volume(two) as b:
        for k in range(a.n_sections("inline")):
            np.testing.assert_allclose(a.section("inline", k), b.section("inline", k), rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob(".*.part")), "no temporary files left"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_no_final_file(trained, tmp_path, sig):
    src = synth_segy(tmp_path / "big.sgy", inlines=300, crosslines=40, samples=64, faults=1, seed=1)
    out = tmp_path / "out.sgy"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([SEISFUSE, "predict", "--ckpt", str(trained), "--input", str(src), "--output", str(out),
                             "--batch-size", "1", "--tile", "16", "--overlap", "2", "--num-workers", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            # a suite started in the background (`cmd &`) hands SIGINT down ignored: as a terminal would
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 600
    while not list(tmp_path.glob(".out.sgy.*.part")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGSTOP)  # frozen while writing: the signal arrives mid-run however fast the machine
    assert proc.poll() is None, "the run finished before its output appeared"
    proc.send_signal(sig)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode != 0
    assert not out.exists(), "no half-written file under the final name"
    if sig == signal.SIGINT:
        assert "interrupted" in err and "Traceback" not in err
        assert not list(tmp_path.glob(".out.sgy.*.part")), "the temporary file is removed"


def test_baseline_command_streams_like_predict(survey, tmp_path, run_cli):
    out = tmp_path / "lap.sgy"
    code, stdout, err = run_cli("baseline", "--method", "laplacian", "--input", survey["seismic"], "--output", out,
                                "--quiet", "--num-workers", "0")
    assert code == 0, err
    assert "sections/s" in stdout
    assert trace_headers(out) == trace_headers(survey["seismic"])
    fuser = baseline_fuser("average")
    res = predict_volume(fuser, survey["seismic"], tmp_path / "avg.sgy", num_workers=0, progress=False)
    assert res.sections == 12
    code, _, err = run_cli("baseline", "--method", "gaussian", "--param", "sigma=1.5", "--input", survey["seismic"],
                           "--output", tmp_path / "g.sgy", "--quiet", "--num-workers", "0")
    assert code == 0, err
    import cv2

    from seisfuse.branches import fit_normalizer

    with open_volume(survey["seismic"]) as src, open_volume(tmp_path / "g.sgy") as out:
        norm = fit_normalizer(src)
        expected = cv2.GaussianBlur(norm.forward(src.section("inline", 4)), (0, 0), 1.5, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(norm.forward(out.section("inline", 4)), expected, atol=1e-5)
    code, _, err = run_cli("baseline", "--method", "median", "--param", "size=4", "--input", survey["seismic"],
                           "--output", tmp_path / "m.sgy")
    assert code == 2 and "--method: median: invalid parameters" in err


def test_evaluate_table_and_json(trained, survey, tmp_path, run_cli):
    fused = tmp_path / "fused.sgy"
    fuse(trained, survey["seismic"], fused)
    code, _, err = run_cli("baseline", "--method", "average", "--input", survey["seismic"], "--output",
                           tmp_path / "avg.sgy", "--quiet", "--num-workers", "0")
    assert code == 0, err
    js = tmp_path / "m.json"
    code, out, err = run_cli("evaluate", "--input", survey["seismic"], "--fused", fused, "--compare", tmp_path / "avg.sgy",
                             "--clean", survey["clean"], "--fault-mask", survey["mask"], "--json", js,
                             "--ckpt", trained, "--sections", 4)
    assert code == 0, err
    assert "Qabf" in out and "fused.sgy" in out and "avg.sgy" in out and "(raw)" in out and "*" in out
    res = json.loads(js.read_text())
    assert set(res["results"]) == {"fused.sgy", "avg.sgy"} and len(res["sections"]) == 4
    for row in res["results"].values():
        assert 0 < row["Qabf"] < 1 and 0 < row["SSIM_clean"] <= 1 and row["fault_contrast"] > 0
    assert res["references"]["input (raw)"]["SSIM_raw"] == pytest.approx(1.0)
    assert "Qabf_clean" in res["results"]["fused.sgy"] and "(edge branch)" in res["references"]
    assert res["verdict"] and all("fused.sgy" in line for line in res["verdict"]), "the model against every row"
    assert "every other row" in out


def test_preview_with_checkpoint_has_four_panels(trained, survey, tmp_path, run_cli):
    out = tmp_path / "p.png"
    code, _, err = run_cli("preview", survey["seismic"], "--ckpt", trained, "--out", out)
    assert code == 0, err
    assert imread(out).shape[:2] == (500, 1700)


def test_bad_inputs_are_one_line_errors(trained, survey, tmp_path, run_cli):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    line2d = write_segy(tmp_path / "l.sgy", cube(1, 30, 20), iline_byte=9, xline_byte=21)
    other = write_segy(tmp_path / "o.sgy", cube(3, 3, 10))
    (tmp_path / "exists.sgy").write_bytes(b"x")
    s = survey["seismic"]
    cases = [
        (["predict", "--ckpt", tmp_path / "nope.ckpt", "--input", s, "--output", tmp_path / "a.sgy"], "checkpoint not found"),
        (["predict", "--ckpt", text, "--input", s, "--output", tmp_path / "a.sgy"], "not a readable, weights-only seisfuse checkpoint"),
        (["predict", "--ckpt", trained, "--input", tmp_path / "no.sgy", "--output", tmp_path / "a.sgy"], "no such file"),
        (["predict", "--ckpt", trained, "--input", s, "--output", s, "--force"], "output is the input"),
        (["predict", "--ckpt", trained, "--input", s, "--output", tmp_path / "exists.sgy"], "--force"),
        (["predict", "--ckpt", trained, "--input", line2d, "--output", tmp_path / "a.sgy", "--axis", "crossline"],
         "no crossline sections"),
        (["evaluate", "--input", s, "--fused", other], "geometry differs"),
        (["baseline", "--method", "average", "--input", text, "--output", tmp_path / "b.sgy"], "not a SEG-Y file"),
    ]
    if not torch.cuda.is_available():
        cases.append((["predict", "--ckpt", trained, "--input", s, "--output", tmp_path / "a.sgy", "--device", "cuda"],
                      "no CUDA device"))
    for args, message in cases:
        code, _, err = run_cli(*args)
        assert code != 0, args
        errors = [ln for ln in err.strip().splitlines() if not ln.startswith("seisfuse: note:")]
        assert message in err and len(errors) == 1, (args, err)
    assert (tmp_path / "exists.sgy").read_bytes() == b"x"
    assert not (tmp_path / "a.sgy").exists()
