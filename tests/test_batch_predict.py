"""Survey-scale inference: many files per command, failures skipped, single lines and gathers, srun ranks, requeue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import segyio
from conftest import SLOW_LIMIT_S, cube, slurm_job_id, synth_segy, trace_headers, write_segy

from seisfuse.segy import open_volume

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def synth_file(path: Path, seed: int, inlines: int = 5, crosslines: int = 24, samples: int = 40) -> Path:
    synth_segy(path, inlines=inlines, crosslines=crosslines, samples=samples, faults=1, seed=seed)
    return path


def same_samples(a: Path, b: Path) -> None:
    with open_volume(a) as x, open_volume(b) as y:
        axis = x.axes[0]
        for k in range(x.n_sections(axis)):
            np.testing.assert_allclose(x.section(axis, k), y.section(axis, k), rtol=1e-5, atol=1e-6)


def test_batch_equals_one_file_at_a_time_and_a_bad_file_is_skipped(trained, tmp_path, run_cli):
    inputs = [synth_file(tmp_path / f"line{i}.sgy", seed=i) for i in range(3)]
    bad = tmp_path / "line1b.sgy"
    bad.write_bytes(b"not seg-y" * 500)
    (tmp_path / "one").mkdir()
    (tmp_path / "all").mkdir()
    for src in inputs:
        code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", tmp_path / "one" / src.name,
                               "--num-workers", "0", "--quiet")
        assert code == 0, err
    code, out, err = run_cli("predict", "--ckpt", trained, "--input", inputs[0], bad, *inputs[1:],
                             "--output-dir", tmp_path / "all", "--num-workers", "2", "--quiet")
    assert code == 1, "some failed"
    assert err.startswith(f"seisfuse: error: {bad}: not a SEG-Y file") and len(err.strip().splitlines()) == 1
    assert out.count("wrote ") == 3 and "4 files: 3 written here, 0 skipped, 1 failed" in out
    for src in inputs:
        same_samples(tmp_path / "one" / src.name, tmp_path / "all" / src.name)
        assert trace_headers(tmp_path / "all" / src.name) == trace_headers(src)
    assert not (tmp_path / "all" / bad.name).exists()
    # a quoted glob is expanded; --skip-existing leaves complete outputs and removes stale temporary files
    stale = tmp_path / "all" / ".line2.sgy.abc123.part"
    stale.write_bytes(b"half")
    (tmp_path / "all" / "line2.sgy").unlink()
    before = (tmp_path / "all" / "line0.sgy").stat().st_mtime_ns
    code, out, err = run_cli("predict", "--ckpt", trained, "--input", str(tmp_path / "line?.sgy"),
                             "--output-dir", tmp_path / "all", "--skip-existing", "--num-workers", "0", "--quiet")
    assert code == 0, err
    assert out.count("exists (--skip-existing)") == 2 and "wrote " + str(tmp_path / "all" / "line2.sgy") in out
    assert (tmp_path / "all" / "line0.sgy").stat().st_mtime_ns == before and not stale.exists()
    same_samples(tmp_path / "one" / "line2.sgy", tmp_path / "all" / "line2.sgy")


def test_predict_and_baseline_print_no_lightning_chatter(trained, tmp_path, run_cli):
    src = synth_file(tmp_path / "s.sgy", seed=4)
    for args in (["predict", "--ckpt", trained], ["baseline", "--method", "wavelet"]):
        code, out, err = run_cli(*args, "--input", src, "--output", tmp_path / f"{args[0]}.sgy", "--quiet")
        assert code == 0, err
        assert "Tip" not in out + err and "GPU available" not in out + err and "Warning" not in err
    assert "lightning" not in subprocess.run(
        [sys.executable, "-c", "import sys, seisfuse.inference.predict, seisfuse.inference.weights; print(' '.join(sys.modules))"],
        capture_output=True, text=True).stdout.split(), "the one-device predict path imports no Lightning"


def test_single_crossline_of_a_3d_survey_is_fused_along_the_line(trained, tmp_path, run_cli):
    data = cube(40, 1, 32, seed=5) * 40
    path = write_segy(tmp_path / "xl.sgy", data, xlines=np.array([777]))
    code, out, _ = run_cli("info", path, "--no-scan", "--no-text-header")
    assert "a single crossline of a 3D survey" in out
    with open_volume(path) as vol:
        assert vol.fusion_axes("auto") == ["crossline"] and vol.fusion_axes("both") == ["crossline"]
    code, out, err = run_cli("predict", "--ckpt", trained, "--input", path, "--output", tmp_path / "f.sgy",
                             "--num-workers", "0", "--quiet")
    assert code == 0 and "1 sections (crossline)" in out, err
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", path, "--output", tmp_path / "g.sgy",
                           "--axis", "inline")
    assert code == 2 and "--axis: " in err and "one trace wide" in err


def write_shot_gathers(path: Path, shots: int = 4, channels: int = 12, ns: int = 30, key_byte: int = 9) -> np.ndarray:
    """Shot gathers: FFID (or another key) per shot, offsets at byte 37 varying, nothing at 189/193."""
    rng = np.random.default_rng(1)
    data = (rng.normal(0, 1, (shots, channels, ns)) + np.arange(shots)[:, None, None] * 10).astype(np.float32)
    spec = segyio.spec()
    spec.samples, spec.tracecount, spec.format = list(range(ns)), shots * channels, 5
    with segyio.create(os.fspath(path), spec) as f:
        for s in range(shots):
            for c in range(channels):
                t = s * channels + c
                f.header[t] = {key_byte: 1001 + s, 37: 50 * (c + 1), segyio.TraceField.TRACE_SAMPLE_COUNT: ns,
                               segyio.TraceField.CDP: 2 * s + c}
                f.trace[t] = data[s, c]
    return data


def test_shot_gathers_are_fused_one_gather_at_a_time(tmp_path, run_cli):
    path = tmp_path / "shots.sgy"
    data = write_shot_gathers(path)
    code, out, err = run_cli("info", path, "--no-scan", "--no-text-header")
    assert code == 0 and "pre-stack gathers" in out
    assert "seisfuse: note: " in err and "one section per FFID (byte 9), 4 gathers" in err
    with open_volume(path) as vol:
        assert vol.geometry.kind == "gathers" and vol.axes == ("inline",) and vol.n_sections("inline") == 4
        for s in range(4):
            np.testing.assert_array_equal(vol.section("inline", s), data[s].T)
    # a per-section method shows the sections are the gathers: each output gather depends on its own traces only
    code, _, err = run_cli("baseline", "--method", "median", "--input", path, "--output", tmp_path / "m.sgy", "--quiet")
    assert code == 0, err
    assert trace_headers(tmp_path / "m.sgy") == trace_headers(path)
    with open_volume(tmp_path / "m.sgy") as out:
        means = [float(out.section("inline", s).mean()) for s in range(4)]
    assert np.allclose(means, [10 * s for s in range(4)], atol=0.6), "no gather mixed with its neighbours"
    other = tmp_path / "by17.sgy"
    write_shot_gathers(other, key_byte=17)
    code, _, err = run_cli("info", other, "--no-scan", "--section-key", "17")
    assert code == 0 and f"note: {other}" not in err, "an explicit section key needs no detection"
    unkeyed = tmp_path / "unkeyed.sgy"
    write_shot_gathers(unkeyed, key_byte=13)  # keyed by a word no detector tries
    code, _, err = run_cli("info", unkeyed, "--no-scan")
    assert code == 1 and "looks pre-stack" in err and "--section-key" in err


def _fake_srun(tmp_path: Path) -> dict[str, str]:
    """A srun that starts SLURM_NTASKS copies of the command with their SLURM rank variables."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "srun").write_text(
        '#!/bin/bash\nwhile [[ "$1" == --* ]]; do shift; done\npids=()\n'
        'for ((i=0; i<SLURM_NTASKS; i++)); do\n'
        '  SLURM_PROCID=$i SLURM_LOCALID=$((i % SLURM_NTASKS_PER_NODE)) SLURM_NODEID=$((i / SLURM_NTASKS_PER_NODE)) '
        '"$@" & pids+=($!)\ndone\nrc=0; for p in "${pids[@]}"; do wait $p || rc=$?; done; exit $rc\n')
    (bin_dir / "srun").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(PATH=f"{bin_dir}:{BIN}:{env['PATH']}", PYTHONWARNINGS="ignore")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("nodes,per_node", [(2, 2)])  # 4 ranks; 2 local ranks: test_predict
def test_srun_ranks_write_the_same_bytes_as_one_rank_and_requeue_skips(trained, tmp_path, run_cli, nodes, per_node):
    big = synth_file(tmp_path / "big.sgy", seed=7, inlines=7, crosslines=20)
    lines = [synth_file(tmp_path / f"l{i}.sgy", seed=10 + i, inlines=1, crosslines=30) for i in range(5)]
    (tmp_path / "one").mkdir()
    for src in [big, *lines]:
        code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", tmp_path / "one" / src.name,
                               "--axis", "both" if src is big else "auto", "--num-workers", "0", "--quiet")
        assert code == 0, err
    env = _fake_srun(tmp_path)
    env.update(SLURM_JOB_ID=slurm_job_id(), SLURM_NTASKS=str(nodes * per_node), SLURM_NNODES=str(nodes),
               SLURM_NTASKS_PER_NODE=str(per_node), SLURM_NODELIST="localhost", SLURM_JOB_NAME="seisfuse-predict",
               SLURM_SUBMIT_DIR=str(tmp_path))
    script = ROOT / "scripts" / "predict.sh"
    (tmp_path / "ranks").mkdir()

    def job(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(script), "--ckpt", str(trained), "--num-workers", "0", *args],
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=SLOW_LIMIT_S)

    # one file, sections split across the ranks (fewer files than ranks); --axis both crosses ranks between passes
    res = job("--input", str(big), "--output", str(tmp_path / "ranks" / "big.sgy"), "--axis", "both")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("wrote") == 1 and "Initializing distributed" not in res.stderr
    same_samples(tmp_path / "one" / "big.sgy", tmp_path / "ranks" / "big.sgy")
    assert trace_headers(tmp_path / "ranks" / "big.sgy") == trace_headers(big)
    # many files: the files split across ranks
    res = job("--input", *map(str, lines), "--output-dir", str(tmp_path / "ranks"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("wrote") == 5
    for src in lines:
        same_samples(tmp_path / "one" / src.name, tmp_path / "ranks" / src.name)
    # the requeued job finds every output complete and skips it
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ranks").iterdir()}
    res = job("--input", *map(str, lines), "--output-dir", str(tmp_path / "ranks"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "wrote" not in res.stdout and res.stdout.count("exists (--skip-existing)") == 5
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "ranks").iterdir()} == stamps
    assert not list((tmp_path / "ranks").glob(".*.part"))
