"""What a new user and a cluster job hit, each fixed: exit codes, outputs that are inputs, failing files, owned
temporary files, SIGTERM, resumed histories, geometry notes, dead files, weights-only loading, truncated
checkpoints, alias bombs, setting ranges, a full disk, NaN files, quiet output."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, SLOW_LIMIT_S, cube, synth_segy, write_segy

SEISFUSE = str(Path(sys.executable).parent / "seisfuse")
TINY = ROOT / "tests" / "tiny.yaml"
DEFAULT = ROOT / "configs" / "default.yaml"


def fit_args(survey: Path, *extra: str) -> list[str]:
    return ["fit", "--config", str(DEFAULT), "--config", str(TINY), f"--data.train_files=[{survey}]", *extra]


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    return synth_segy(tmp_path_factory.mktemp("survey") / "train.sgy", inlines=24, crosslines=48, samples=64,
                      faults=2, seed=5)


# ---------------------------------------------------------------- outputs never replace what a command reads
def test_outputs_that_are_read_files_are_refused_even_with_force(trained, tmp_path, run_cli):
    src = synth_segy(tmp_path / "s.sgy", inlines=4, crosslines=20, samples=40, seed=1)
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(trained.read_bytes())
    link = tmp_path / "link.ckpt"
    link.symlink_to(ckpt)
    (tmp_path / "sub").mkdir()
    dotdot = tmp_path / "sub" / ".." / "model.ckpt"
    before = ckpt.read_bytes()
    cases = [
        ["predict", "--ckpt", ckpt, "--input", src, "--output", link, "--force", "--num-workers", "0"],
        ["predict", "--ckpt", link, "--input", src, "--output", dotdot, "--force", "--num-workers", "0"],
        ["preview", src, "--ckpt", ckpt, "--out", link, "--force"],
        ["evaluate", "--input", src, "--fused", src, "--clean", src, "--json", tmp_path / "sub" / ".." / "s.sgy",
         "--force", "--classical", "none"],
        ["benchmark", "--ckpt", ckpt, "--input", src, "--json", link, "--force"],
    ]
    for args in cases:
        code, out, err = run_cli(*args)
        assert code != 0 and "output is" in err and len(err.strip().splitlines()) == 1, (args, err)
    assert ckpt.read_bytes() == before, "the checkpoint was not touched"


# ---------------------------------------------------------------- batch predict: a failing file is skipped
def test_batch_predict_writes_the_good_files_when_others_fail(trained, tmp_path, run_cli):
    good = synth_segy(tmp_path / "good.sgy", inlines=3, crosslines=20, samples=40, seed=2)
    dead = write_segy(tmp_path / "dead.sgy", np.zeros((3, 4, 40), np.float32))
    nan = write_segy(tmp_path / "nan.sgy", np.full((3, 4, 40), np.nan, np.float32))
    unreadable = synth_segy(tmp_path / "locked.sgy", inlines=2, crosslines=10, samples=40, seed=3)
    unreadable.chmod(0)
    out = tmp_path / "out"
    out.mkdir()
    try:
        code, stdout, err = run_cli("predict", "--ckpt", trained, "--input", good, dead, nan, unreadable,
                                    "--output-dir", out, "--num-workers", "0", "--quiet")
    finally:
        unreadable.chmod(0o644)
    assert code == 1
    assert (out / "good.sgy").exists() and not (out / "dead.sgy").exists() and not (out / "nan.sgy").exists()
    root = os.geteuid() == 0  # root reads any file
    assert f"4 files: {2 if root else 1} written here, 0 skipped, {2 if root else 3} failed" in stdout
    assert "dead.sgy: all" in err and "zero" in err and "nan.sgy: all" in err and "NaN or Inf" in err
    if not root:
        assert "locked.sgy" in err
    assert not list(out.glob(".*.part"))


# ---------------------------------------------------------------- temporary outputs belong to their run
def test_a_second_run_never_deletes_a_live_runs_temporary_output(trained, tmp_path, run_cli):
    src = synth_segy(tmp_path / "s.sgy", inlines=3, crosslines=20, samples=40, seed=4)
    out = tmp_path / "o.sgy"
    host = __import__("socket").gethostname()
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in host)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live_part = tmp_path / f".o.sgy.{host}~{live.pid}~abc.part"
        dead_part = tmp_path / f".o.sgy.{host}~{2**22 + 12345}~def.part"
        for p in (live_part, dead_part):
            p.write_text("another run's work")
        code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", out, "--force",
                               "--num-workers", "0", "--quiet")
        assert code == 0, err
        assert live_part.exists(), "the live run's part is left alone"
        assert not dead_part.exists(), "a dead run's part is cleaned up"
    finally:
        live.kill()


# ---------------------------------------------------------------- SIGTERM
def test_sigterm_during_predict_removes_the_temporary_output(trained, tmp_path):
    src = synth_segy(tmp_path / "big.sgy", inlines=200, crosslines=40, samples=64, faults=1, seed=1)
    out = tmp_path / "out.sgy"
    proc = subprocess.Popen([SEISFUSE, "predict", "--ckpt", str(trained), "--input", str(src), "--output", str(out),
                             "--batch-size", "1", "--tile", "16", "--overlap", "2", "--num-workers", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    deadline = time.time() + 600
    while not list(tmp_path.glob(".out.sgy.*.part")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGSTOP)
    assert proc.poll() is None, "the run finished before its output appeared"
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.sgy.*.part"))


@pytest.mark.slow
def test_sigterm_during_fit_saves_a_checkpoint_a_requeued_job_resumes_from(survey, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "WANDB_MODE": "offline"}
    env.pop("SEISFUSE_RUN_DIR", None)
    proc = subprocess.Popen([SEISFUSE, *fit_args(survey, "--trainer.logger=false", "--trainer.max_epochs=500",
                                                  "--trainer.enable_progress_bar=true",  # plain lines: not a tty
                                                  "--trainer.log_every_n_steps=1",
                                                  f"--trainer.default_root_dir={tmp_path / 'run'}")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    seen = ""
    while "step 3/" not in seen and proc.poll() is None:  # training is under way (plain progress lines: not a tty)
        line = proc.stdout.readline()
        seen += line
        if not line:
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=SLOW_LIMIT_S)
    assert proc.returncode == 143, err[-2000:]
    assert "terminated (SIGTERM)" in err and "hpc_ckpt_1.ckpt" in err and "Traceback" not in err
    saved = torch.load(tmp_path / "run" / "hpc_ckpt_1.ckpt", map_location="cpu", weights_only=True)
    assert saved["global_step"] >= 3


# ---------------------------------------------------------------- resumed runs keep their CSV history
def test_resume_appends_to_the_csv_history(survey, workdir, run_cli):
    csv_cfg = ROOT / "configs" / "logger" / "csv.yaml"
    args = ["fit", "--config", str(DEFAULT), "--config", str(csv_cfg), "--config", str(TINY),
            f"--data.train_files=[{survey}]", "--experiment=hist"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    (run,) = list(Path("runs/hist").iterdir())
    first = (run / "csv" / "metrics.csv").read_text().splitlines()
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    code, _, err = run_cli(*args, "--trainer.max_epochs=2", f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}")
    assert code == 0, err
    rows = (run / "csv" / "metrics.csv").read_text().splitlines()
    import csv

    epochs = {r["epoch"] for r in csv.DictReader(rows) if r.get("epoch")}
    assert len(rows) > len(first) and {"0", "1"} <= epochs, "epoch 0's rows survive the resume"
    # the file a SIGTERM note names, RUN/hpc_ckpt_<n>.ckpt: the same run goes on (no second folder, one history)
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    import shutil

    shutil.copy(run / "checkpoints" / "last.ckpt", run / "hpc_ckpt_1.ckpt")
    code, _, err = run_cli(*args, "--trainer.max_epochs=3", f"--ckpt_path={run / 'hpc_ckpt_1.ckpt'}")
    assert code == 0, err
    assert list(Path("runs/hist").iterdir()) == [run], "resumed in its own run folder"
    epochs = {r["epoch"] for r in csv.DictReader((run / "csv" / "metrics.csv").read_text().splitlines())
              if r.get("epoch")}
    assert {"0", "1", "2"} <= epochs


def test_a_requeued_job_reads_its_hpc_checkpoint_weights_only_and_skips_a_damaged_one(survey, workdir, run_cli,
                                                                                      monkeypatch):
    """Lightning itself finds RUN/hpc_ckpt_<n>.ckpt when a SLURM job restarts: the same checks as --ckpt_path."""
    import pickle

    from conftest import slurm_job_id

    args = ["fit", "--config", str(DEFAULT), "--config", str(TINY), f"--data.train_files=[{survey}]",
            "--trainer.logger=false", "--experiment=requeue"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    (run,) = list(Path("runs/requeue").iterdir())
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    (run / "hpc_ckpt_1.ckpt").write_bytes(good)

    class Hostile:
        def __reduce__(self):  # would run code when unpickled
            return (os.system, ("touch pwned",))

    with open(run / "hpc_ckpt_2.ckpt", "wb") as fh:
        pickle.dump({"state_dict": Hostile()}, fh)
    (run / "hpc_ckpt_3.ckpt").write_bytes(good[: len(good) // 2])  # truncated: the newest
    for key, value in {"SLURM_JOB_ID": slurm_job_id(), "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "seisfuse",
                       "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}.items():
        monkeypatch.setenv(key, value)  # a requeued SLURM job: Lightning looks for the run's HPC checkpoint itself
    code, _, err = run_cli(*args, f"--trainer.default_root_dir={run}", "--trainer.max_epochs=2")
    assert code == 0, err
    assert "hpc_ckpt_3.ckpt: not a readable, weights-only checkpoint" in err and "resuming from" in err, err
    assert not Path("pwned").exists(), "no pickled code ran"
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4, "it went on"


# ---------------------------------------------------------------- truncated checkpoints, weights-only loading
def test_a_truncated_last_checkpoint_resumes_from_the_newest_intact_one(survey, workdir, run_cli):
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", "--experiment=cut", "--trainer.max_epochs=2"))
    assert code == 0, err
    (run,) = list(Path("runs/cut").iterdir())
    last = run / "checkpoints" / "last.ckpt"
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 3])  # killed while saving (what AtomicCheckpointIO now prevents)
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", "--experiment=cut", "--trainer.max_epochs=3",
                                     f"--ckpt_path={last}"))
    assert code == 0, err
    assert f"{last}: not a readable, weights-only checkpoint" in err and "resuming from" in err and "best-" in err
    assert not list(run.glob("checkpoints/.*.part")), "checkpoints are written under temporary names, then renamed"


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ.get('SEISFUSE_EXPLOIT_MARK', '/tmp/never')}",))


def test_a_malicious_checkpoint_runs_no_code_on_any_load_path(trained, survey, workdir, run_cli, monkeypatch):
    mark = workdir / "pwned"
    monkeypatch.setenv("SEISFUSE_EXPLOIT_MARK", str(mark))
    good = torch.load(trained, map_location="cpu", weights_only=True)
    bad = workdir / "bad.ckpt"
    torch.save({**good, "extra": _Exploit()}, bad)
    src = synth_segy(workdir / "s.sgy", inlines=3, crosslines=20, samples=40, seed=6)
    attempts = [
        fit_args(survey, "--trainer.logger=false", f"--ckpt_path={bad}"),
        ["validate", *fit_args(survey, "--trainer.logger=false", f"--ckpt_path={bad}")[1:]],
        fit_args(survey, "--trainer.logger=false", f"--model.init_weights={bad}"),
        ["predict", "--ckpt", bad, "--input", src, "--output", workdir / "o.sgy", "--num-workers", "0"],
    ]
    for args in attempts:
        code, _, err = run_cli(*args)
        assert code != 0 and "bad.ckpt" in err and "Traceback" not in err, (args, err)
        os.environ.pop("SEISFUSE_RUN_DIR", None)
    import seisfuse

    with pytest.raises(seisfuse.SeisfuseError, match="bad.ckpt"):
        seisfuse.load_model(bad)
    assert not mark.exists(), "no pickled code ran"


# ---------------------------------------------------------------- configs
def test_a_yaml_alias_bomb_is_refused_in_one_line(survey, workdir):
    bomb = workdir / "bomb.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb.write_text("\n".join(lines) + "\n")
    res = subprocess.run([SEISFUSE, *fit_args(survey, "--config", str(bomb))], capture_output=True, text=True,
                         timeout=SLOW_LIMIT_S, cwd=workdir)
    assert res.returncode == 2 and "bomb.yaml" in res.stderr and "alias" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


@pytest.mark.parametrize("override,key", [
    ("--data.batch_size=0", "--data.batch_size: must be >= 1"),
    ("--data.num_workers=-1", "--data.num_workers: must be >= 0"),
    ("--data.stride=0", "--data.stride: must be >= 1"),
    ("--model.optimizer.init_args.lr=0", "--model.optimizer.init_args.lr: must be > 0"),
    ("--trainer.max_epochs=-5", "--trainer.max_epochs: must be >= -1"),
    ("--model.loss.w_l1=-1", "loss.w_l1 must be >= 0"),
])
def test_numeric_settings_are_checked_when_read_with_one_exit_code(survey, workdir, run_cli, override, key):
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", override))
    assert code == 2 and key in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_gpu_without_one_names_the_settings_to_change(survey, workdir, run_cli):
    code, _, err = run_cli("fit", "--config", str(DEFAULT), f"--data.train_files=[{survey}]", "--trainer.logger=false")
    assert code == 2 and "--trainer.accelerator=cpu --trainer.precision=32" in err and "configs/demo.yaml" in err


def test_normal_fit_output_has_no_third_party_tips_or_warnings(survey, workdir):
    res = subprocess.run([SEISFUSE, *fit_args(survey, "--trainer.logger=false")], capture_output=True, text=True,
                         timeout=SLOW_LIMIT_S, cwd=workdir, env={k: v for k, v in os.environ.items()
                                                                if k != "SEISFUSE_RUN_DIR"})
    assert res.returncode == 0, res.stderr[-2000:]
    both = res.stdout + res.stderr
    for noise in ("Tip", "litlogger", "log_every_n_steps", "GPU available", "Warning"):
        assert noise not in both, noise


# ---------------------------------------------------------------- files: geometry notes, dead and NaN files, full disk
def test_a_geometry_fallback_always_says_so(tmp_path, run_cli):
    data = cube(6, 8, 30, seed=3)
    path = write_segy(tmp_path / "dup.sgy", data, ilines=np.ones(6, int), xlines=np.ones(8, int))  # 189/193 repeat
    code, out, err = run_cli("info", path)
    assert code == 0 and "seisfuse: note:" in err and "189/193" in err and "repeat" in err, err


def test_a_dead_file_fails_before_every_trace_header_is_read(tmp_path, monkeypatch):
    from seisfuse.errors import SeisfuseError
    from seisfuse.segy import open_volume, volume

    path = write_segy(tmp_path / "dead.sgy", np.zeros((40, 50, 20), np.float32))
    monkeypatch.setattr(volume, "detect_geometry", lambda *a: pytest.fail("every trace header was read"))
    with pytest.raises(SeisfuseError, match="sampled traces are zero"):
        open_volume(path)


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(trained, tmp_path, run_cli, monkeypatch):
    import shutil

    src = synth_segy(tmp_path / "s.sgy", inlines=3, crosslines=20, samples=40, seed=7)

    def full(a, b, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(a), None, str(b))

    monkeypatch.setattr(shutil, "copyfile", full)
    for args in (["predict", "--ckpt", trained], ["baseline", "--method", "gaussian"]):
        code, _, err = run_cli(*args, "--input", src, "--output", tmp_path / "o.sgy", "--num-workers", "0", "--quiet")
        assert code == 1 and "o.sgy: no space left on device" in err and len(err.strip().splitlines()) == 1, err
        assert not list(tmp_path.glob(".o.sgy*")) and not (tmp_path / "o.sgy").exists()


def test_nan_and_inf_samples_are_counted_in_one_note(trained, tmp_path, run_cli):
    data = cube(3, 20, 40, seed=4)
    data[1, 3, 10:15] = np.nan
    data[2, 7, 0] = np.inf
    src = write_segy(tmp_path / "holes.sgy", data)
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", tmp_path / "o.sgy",
                           "--num-workers", "0", "--quiet")
    notes = [ln for ln in err.splitlines() if "NaN or Inf" in ln]
    assert code == 0 and len(notes) == 1 and "holes.sgy: 6 NaN or Inf samples" in notes[0], err
    assert "read as zero amplitude" in notes[0]
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", tmp_path / "o2.sgy",
                           "--num-workers", "0", "--quiet", "--axis", "both")
    assert "6 NaN or Inf samples" in err, "counted once, whatever the passes"


def test_every_output_on_a_full_disk_is_named_in_one_line(trained, tmp_path, run_cli, monkeypatch):
    import torch

    from seisfuse.evaluation import viz

    def torch_full(*args, **kwargs):  # what torch.save's writer raises when the disk fills
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")

    monkeypatch.setattr(torch, "save", torch_full)
    monkeypatch.setattr("seisfuse.files.shutil.disk_usage", lambda p: type("U", (), {"free": 0})())
    code, _, err = run_cli("export", trained, tmp_path / "m.pt")
    assert code == 1 and err.strip() == f"seisfuse: error: {tmp_path / 'm.pt'}: no space left on device; nothing " \
                                        "was left under its name", err
    assert not list(tmp_path.glob("*m.pt*"))
    monkeypatch.undo()

    def savefig_full(self, path, *args, **kwargs):  # matplotlib writing a PNG on a full disk: no file name in it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(viz.Figure, "savefig", savefig_full)
    src = synth_segy(tmp_path / "s.sgy", inlines=3, crosslines=20, samples=40, seed=7)
    for args, out in ((["preview", src, "--no-model"], "p.png"), (["compare", src, src], "c.png")):
        code, _, err = run_cli(*args, "--out", tmp_path / out)
        assert code == 1 and f"{tmp_path / out}: no space left on device" in err and "output:" not in err, err
        assert not list(tmp_path.glob(f"*{out}*"))


def test_benchmark_copies_never_replace_an_input_and_ratios_are_finite(tmp_path, run_cli):
    src = synth_segy(tmp_path / "b.sgy", inlines=1, crosslines=24, samples=40, seed=3)
    other = synth_segy(tmp_path / "b_white0.5.sgy", inlines=1, crosslines=24, samples=40, seed=4)
    before = other.read_bytes()
    code, _, err = run_cli("benchmark", "--input", src, other, "--workdir", tmp_path, "--noise", "white")
    assert code == 1 and "b_white0.5.sgy: output is a file this command reads" in err, err
    assert other.read_bytes() == before
    code, _, err = run_cli("benchmark", "--input", src, "--ratio", "nan")
    assert code == 2 and err.strip() == "seisfuse: error: --ratio: must be finite and > 0, got nan", err


def test_bad_numbers_and_clashing_outputs_are_one_line_errors(tmp_path, run_cli):
    src = synth_segy(tmp_path / "s.sgy", inlines=2, crosslines=16, samples=32, seed=2)
    cases = [
        (["synth", tmp_path / "n.sgy", "--noise", "nan"], "--noise: must be a finite number, got nan"),
        (["evaluate", "--input", src, "--fused", src, "--sections", "-2"], "--sections: must be >= 1, got -2"),
        (["evaluate", "--input", src, "--fused", src, "--sections", "0"], "--sections: must be >= 1, got 0"),
        (["evaluate", "--input", src, "--fused", src, "--json", tmp_path / "m.out", "--qc-panel", tmp_path / "m.out"],
         "is also another output of this command"),
    ]
    for args, message in cases:
        code, out, err = run_cli(*args)
        lines = err.strip().splitlines()
        assert code in (1, 2) and len(lines) == 1 and message in lines[0] and "Traceback" not in err, (args, err)
    assert not (tmp_path / "n.sgy").exists() and not (tmp_path / "m.out").exists()
