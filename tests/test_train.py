"""`seisfuse fit`: real Lightning runs on a tiny synthetic survey, configs, resume, DDP, W&B offline, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import SLOW_LIMIT_S, slurm_job_id, synth_segy
from wandb_records import offline_runs, read_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "tiny.yaml"
DEFAULT = ROOT / "configs" / "default.yaml"
EXPERIMENTS = sorted((ROOT / "configs" / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("survey") / "train.sgy"
    synth_segy(path, inlines=48, crosslines=48, samples=64, faults=2, seed=3)
    return path


def fit_args(survey: Path, *extra: str, configs=(DEFAULT,)) -> list[str]:
    args = ["fit"]
    for c in (*configs, TINY):
        args += ["--config", str(c)]
    return args + [f"--data.train_files=[{survey}]", *extra]


def the_run(root: Path = Path("runs")) -> Path:
    (run,) = [p for p in root.glob("*/*") if p.is_dir()]
    return run


def test_fast_dev_run(run_cli, survey, workdir):
    code, out, err = run_cli(*fit_args(survey, "--trainer.fast_dev_run=2", "--trainer.logger=false"))
    assert code == 0, err


def test_fit_writes_checkpoint_with_everything_inference_needs(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", "--experiment=ckpt",
                                     "--data.edges=[{op: gaussian, sigma: 2.0}]"))
    assert code == 0, err
    run = the_run()
    assert run.parent.name == "ckpt"
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    hp = ckpt["hyper_parameters"]
    assert hp["branches"]["edges"] == [{"op": "gaussian", "sigma": 2.0}]
    assert hp["patch_size"] == 40 and hp["branches"]["clip_percentile"] == 99.5
    assert hp["net"]["base_channels"] == 4 and hp["net"]["deform"] is True
    assert ckpt["seisfuse"]["format"] == 2 and ckpt["global_step"] == 2
    assert list((run / "checkpoints").glob("best-*.ckpt"))
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["edges"] == hp["branches"]["edges"], "data.edges is linked into the model"
    from seisfuse.training.module import FusionModule

    model = FusionModule.load_from_checkpoint(run / "checkpoints" / "last.ckpt", map_location="cpu")
    assert model.net.config.base_channels == 4


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiment_config_runs_a_step(run_cli, survey, workdir, experiment):
    code, _, err = run_cli(*fit_args(survey, "--trainer.fast_dev_run=1", "--trainer.logger=false",
                                     configs=(DEFAULT, experiment)))
    assert code == 0, err


def test_demo_config_runs_a_step(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--trainer.fast_dev_run=1", "--trainer.logger=false",
                                     configs=(ROOT / "configs" / "demo.yaml",)))
    assert code == 0, err


def test_same_seed_same_numbers(run_cli, survey, workdir):
    weights = []
    for name in ("a", "b"):
        code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", f"--trainer.default_root_dir=r{name}"))
        assert code == 0, err
        ckpt = torch.load(Path(f"r{name}") / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        weights.append(ckpt["state_dict"])
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key


def test_resume_continues_step_count_and_run(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--experiment=res"))
    assert code == 0, err
    run = the_run()
    run_id = (run / "wandb_run_id").read_text().strip()
    last = run / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 2
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    code, _, err = run_cli(*fit_args(survey, "--experiment=res", "--trainer.max_epochs=2", f"--ckpt_path={last}"))
    assert code == 0, err
    assert the_run() == run, "resuming continues in the checkpoint's run folder"
    assert torch.load(last, weights_only=False)["global_step"] == 4
    runs = offline_runs(run / "wandb")
    assert {read_run(r).run_id for r in runs} == {run_id}, "and in the same W&B run"


def test_wandb_offline_run_records_config_metrics_and_images(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--experiment=wb", "--model.optimizer.init_args.lr=0.0005"))
    assert code == 0, err
    run_dir = the_run()
    (folder,) = offline_runs(run_dir / "wandb")
    rec = read_run(folder)
    assert rec.run_id == (run_dir / "wandb_run_id").read_text().strip()
    assert rec.group == "wb" and "cluster" in rec.tags
    assert rec.config["model"]["optimizer"]["init_args"]["lr"] == 0.0005 and rec.config["experiment"] == "wb"
    assert rec.config["data"]["patch_size"] == 40 and rec.config["model"]["net"]["base_channels"] == 4
    assert rec.config["data_info"]["train_patches"] > 0
    losses = rec.values("train/loss")
    assert len(losses) == 2 and all(np.isfinite(v) for v in losses)
    (qabf,) = rec.values("val/qabf")
    assert 0 < qabf < 1
    assert rec.metric_summaries["val/loss"] == "min" and rec.metric_summaries["val/qabf"] == "max"
    assert [(m["_type"], m["count"]) for m in rec.media("val/panels")] == [("images/separated", 1)]
    pngs = list((folder / "files" / "media" / "images").rglob("*.png"))
    assert pngs and all(p.stat().st_size > 5000 for p in pngs)
    tables = list((folder / "files" / "media" / "table").rglob("*.table.json"))
    assert tables
    import json

    table = json.loads(tables[0].read_text())
    assert table["columns"][:3] == ["section", "epoch", "qabf"] and len(table["data"]) == 1


def test_csv_logger_without_wandb(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--experiment=csv", configs=(DEFAULT, ROOT / "configs/logger/csv.yaml")))
    assert code == 0, err
    run = the_run()
    header = (run / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "val/qabf" in header and "train/loss" in header
    assert list((run / "csv" / "panels").glob("epoch000_*.png"))
    assert (run / "csv" / "panels" / "sections.csv").read_text().startswith("section,epoch,qabf")
    assert not (run / "wandb").exists()


@pytest.mark.parametrize("extra,code_expected,message", [
    (["--model.lrr=0.1"], 2, "lrr"),
    (["--data.train_files=[nope.sgy]"], 1, "nope.sgy: no such file"),
    (["--data.patch_size=96"], 1, "no usable 96 x 96 patches"),
    (["--model.net.fusion=max"], 2, "fusion"),
])
def test_bad_config_is_a_clear_error(run_cli, survey, workdir, extra, code_expected, message):
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", *extra))
    assert code == code_expected
    assert message in err and "Traceback" not in err


def test_missing_config_file(run_cli, workdir):
    code, _, err = run_cli("fit", "--config", "nope.yaml")
    assert code == 2 and "nope.yaml" in err


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(survey, workdir):
    """Lightning's own launcher re-runs the command for rank 1; gloo on CPU."""
    seisfuse = Path(sys.executable).parent / "seisfuse"
    cmd = [str(seisfuse), *fit_args(survey, "--trainer.strategy=ddp", "--trainer.devices=2", "--trainer.logger=false",
                                    "--trainer.limit_train_batches=3", "--experiment=ddp", "--verbose")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=SLOW_LIMIT_S, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "MEMBER: 2/2" in res.stderr + res.stdout
    run = the_run()
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 3


def _script_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SEISFUSE_RUN_DIR"))}
    env.update(PATH=f"{tmp / 'bin'}:{Path(sys.executable).parent}:{env['PATH']}", WANDB_MODE="offline", **extra)
    return env


@pytest.mark.slow
def test_train_sh_locally_and_under_slurm_with_requeue(survey, workdir):
    script = ROOT / "scripts" / "train.sh"
    overrides = ["--config", str(TINY), f"--data.train_files=[{survey}]", "--experiment=sh"]
    local = subprocess.run(["bash", str(script), str(DEFAULT), *overrides], capture_output=True, text=True,
                           cwd=workdir, env=_script_env(workdir), timeout=SLOW_LIMIT_S)
    assert local.returncode == 0, local.stderr[-2000:]
    assert "wandb sync runs/sh/" in local.stderr and (workdir / "runs" / "sh").is_dir(), "runs/ where it was started"
    assert not (ROOT / "runs" / "sh").exists(), "never in the checkout"
    # without W&B offline folders too (the script used to end on a failing test and exit 1 after a good fit)
    plain = subprocess.run(["bash", str(script), str(DEFAULT), *overrides, "--trainer.logger=false"],
                           capture_output=True, text=True, cwd=workdir, env=_script_env(workdir), timeout=SLOW_LIMIT_S)
    assert plain.returncode == 0, plain.stderr[-2000:]
    before = set((workdir / "runs" / "sh").iterdir())
    failing = subprocess.run(["bash", str(script), str(DEFAULT), *overrides, "--data.stride=0"], capture_output=True,
                             text=True, cwd=workdir, env=_script_env(workdir), timeout=SLOW_LIMIT_S)
    assert failing.returncode == 2 and "--data.stride" in failing.stderr, "the script exits with fit's own status"
    assert "wandb sync" not in failing.stderr, "no older run is offered for upload after a failed fit"
    assert set((workdir / "runs" / "sh").iterdir()) == before, "a failed fit leaves no stub run folder"
    # sbatch's environment, with an srun that just runs the task: the job id names the run and the W&B run
    (workdir / "bin").mkdir()
    (workdir / "bin" / "srun").write_text('#!/bin/bash\nwhile [[ "$1" == --* ]]; do shift; done\nexec "$@"\n')
    (workdir / "bin" / "srun").chmod(0o755)
    job = slurm_job_id()
    slurm = {"SLURM_JOB_ID": job, "SLURM_NTASKS": "1", "SLURM_NNODES": "1", "SLURM_NTASKS_PER_NODE": "1",
             "SLURM_SUBMIT_DIR": str(workdir), "SLURM_JOB_NAME": "seisfuse", "SLURM_PROCID": "0",
             "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}
    first = subprocess.run(["bash", str(script), str(DEFAULT), *overrides], capture_output=True, text=True,
                           cwd=workdir, env=_script_env(workdir, **slurm), timeout=SLOW_LIMIT_S)
    assert first.returncode == 0, first.stderr[-2000:]
    run = workdir / "runs" / "sh" / job
    assert (run / "wandb_run_id").read_text().strip() == f"slurm-{job}"
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 2
    # a requeued job finds Lightning's HPC checkpoint in the same run folder and continues from it
    (run / "checkpoints" / "last.ckpt").replace(run / "hpc_ckpt_1.ckpt")
    again = subprocess.run(["bash", str(script), str(DEFAULT), *overrides, "--trainer.max_epochs=2"],
                           capture_output=True, text=True, cwd=workdir, env=_script_env(workdir, **slurm), timeout=SLOW_LIMIT_S)
    assert again.returncode == 0, again.stderr[-2000:]
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
    assert {read_run(r).run_id for r in offline_runs(run / "wandb")} == {f"slurm-{job}"}


def test_train_sh_usage(workdir):
    res = subprocess.run(["bash", str(ROOT / "scripts" / "train.sh"), "nope.yaml"], capture_output=True, text=True)
    assert res.returncode == 2 and "nope.yaml: config file not found" in res.stderr


def test_validate_and_test_commands_score_a_checkpoint_in_their_own_runs(run_cli, survey, workdir, tmp_path):
    code, _, err = run_cli(*fit_args(survey, "--experiment=vt"))
    assert code == 0, err
    train_run = the_run()
    ckpt = train_run / "checkpoints" / "last.ckpt"
    own = [p for p in train_run.rglob("*") if p.is_file() and not p.is_symlink()]  # W&B links its global core log
    before = {p.relative_to(train_run): p.read_bytes() for p in own}
    other = tmp_path / "test.sgy"
    synth_segy(other, inlines=20, crosslines=48, samples=64, seed=11)
    for command, extra, key in (("validate", [], "val/qabf"), ("test", [f"--data.test_files=[{other}]"], "test/qabf")):
        os.environ.pop("SEISFUSE_RUN_DIR", None)
        args = fit_args(survey, "--experiment=vt", f"--ckpt_path={ckpt}", *extra)
        code, out, err = run_cli(command, *args[1:])
        assert code == 0, err
        assert key in out
        (run,) = Path("runs/vt").glob(f"{command}-*")
        (wb,) = offline_runs(run / "wandb")
        assert read_run(wb).job_type == command and read_run(wb).run_id != (train_run / "wandb_run_id").read_text().strip()
    after = {p.relative_to(train_run): p.read_bytes() for p in train_run.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before, "the training run folder is left as it was"


def test_sweep_trials_in_one_job_get_their_own_folders(monkeypatch):
    from seisfuse.training.train import default_run_dir

    monkeypatch.delenv("SEISFUSE_RUN_DIR", raising=False)
    job = slurm_job_id()
    monkeypatch.setenv("SLURM_JOB_ID", job)
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw1")
    folders = set()
    for trial in ("t1", "t2"):
        monkeypatch.setenv("WANDB_RUN_ID", trial)
        folders.add(default_run_dir("sweep", None))
    assert folders == {f"runs/sweep/{job}-t1", f"runs/sweep/{job}-t2"}
    assert default_run_dir("x", "runs/x/555-t1/checkpoints/last.ckpt", "validate").startswith("runs/x/validate-")


def test_plain_progress_lines_when_not_a_terminal(run_cli, survey, workdir):
    code, out, err = run_cli(*fit_args(survey, "--trainer.logger=false", "--trainer.enable_progress_bar=true",
                                       "--trainer.limit_train_batches=4", "--trainer.log_every_n_steps=2"))
    assert code == 0, err
    assert "epoch 0 step 2/4 train/loss" in out and "epoch 0 step 4/4" in out and "val/loss" in out
    assert "\r" not in out + err, "no progress-bar redraws in a log file"


def test_export_writes_weights_only_and_logs_a_model_artifact(run_cli, survey, workdir):
    code, _, err = run_cli(*fit_args(survey, "--experiment=exp"))
    assert code == 0, err
    run = the_run()
    out = workdir / "model.pt"
    code, stdout, err = run_cli("export", run / "checkpoints" / "last.ckpt", out)
    assert code == 0, err
    assert "logged W&B model artifact model-exp" in stdout
    data = torch.load(out, weights_only=True)  # no pickled code inside
    assert data["kind"] == "seisfuse-weights" and data["branches"]["clip_percentile"] == 99.5
    assert out.stat().st_size < 200_000
    from seisfuse.inference.weights import load_model_file

    model = load_model_file(out)
    ckpt_model = load_model_file(run / "checkpoints" / "last.ckpt")
    for k, v in ckpt_model.state_dict.items():
        assert torch.equal(model.state_dict[k], v), k
    export_runs = [read_run(r) for r in offline_runs(run / "wandb") if read_run(r).job_type == "export"]
    (artifact,) = [a for r in export_runs for a in r.artifacts]
    assert artifact["name"] == "model-exp" and artifact["type"] == "model" and artifact["files"] == ["model.pt"]
    assert artifact["metadata"]["config"]["experiment"] == "exp"
    assert any(k.startswith("val/score") for k in artifact["metadata"]["metrics"])
    # predict --ckpt takes the exported file and a folder holding it (as `wandb artifact get` downloads)
    folder = workdir / "artifact"
    folder.mkdir()
    (folder / "model.pt").write_bytes(out.read_bytes())
    for source in (out, folder):
        code, stdout, err = run_cli("predict", "--ckpt", source, "--input", survey, "--output",
                                    workdir / f"f-{source.name}.sgy", "--num-workers", "0", "--quiet")
        assert code == 0, err
    code, _, err = run_cli("export", run / "checkpoints" / "last.ckpt", out)
    assert code == 1 and "--force" in err



def test_fit_on_synthetic_data_against_clean_references(run_cli, workdir):
    """Fresh synthetic patches, the clean-referenced loss and the half-resolution net, logged to CSV."""
    overlay = workdir / "synthetic.yaml"
    overlay.write_text(
        "model:\n"
        "  loss: {reference: clean, a_raw: 0.8, a_edge: 0.2, w_grad: 1.0, w_fault: 2.0}\n"
        "  net: {scale: 2, levels: 2, fused_channels: 8, level_channels: 8, level_blocks: 1}\n"
        "data:\n"
        "  train_files: []\n"
        "  synthetic: {patches_per_epoch: 8, val_patches: 4}\n")
    code, _, err = run_cli("fit", "--config", str(DEFAULT), "--config", str(TINY), "--config", str(overlay),
                           "--config", str(ROOT / "configs/logger/csv.yaml"), "--experiment=synth",
                           "--trainer.max_epochs=2", "--trainer.limit_train_batches=4")
    assert code == 0, err
    run = the_run()
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 8 and ckpt["hyper_parameters"]["loss"]["reference"] == "clean"
    import csv

    rows = list(csv.DictReader(open(run / "csv" / "metrics.csv")))
    ssim_clean = [float(r["val/ssim_clean"]) for r in rows if r.get("val/ssim_clean")]
    assert len(ssim_clean) == 2 and all(0 < v <= 1 for v in ssim_clean)
    assert list((run / "csv" / "panels").glob("epoch001_synthetic_0.png"))


def test_fine_tune_starts_from_given_weights_and_refuses_other_edges(run_cli, survey, workdir, trained):
    from seisfuse.inference.weights import export, load_model_file
    from seisfuse.training.module import FusionModule

    weights = workdir / "start.pt"
    export(trained, weights)
    start = load_model_file(weights)
    import lightning.pytorch as pl

    from seisfuse.data import SeismicDataModule

    module = FusionModule(init_weights=str(weights), branches=start.branches.to_dict(), patch_size=40, net=start.net)
    assert not all(torch.equal(module.net.state_dict()[k], v) for k, v in start.state_dict.items()), \
        "the constructor reads no weights file"
    data = SeismicDataModule(synthetic={"patches_per_epoch": 2, "val_patches": 2}, patch_size=40, batch_size=2,
                             num_workers=0)
    pl.Trainer(max_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, accelerator="cpu").fit(module, datamodule=data)
    for k, v in start.state_dict.items():  # loaded when fit starts (configure_model)
        assert torch.equal(module.net.state_dict()[k], v), k
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", f"--model.init_weights={weights}",
                                     "--data.edges=[{op: gaussian, sigma: 2.0}]"))
    assert code == 2 and "model.init_weights" in err and "set data.branches, data.edges" in err
    code, _, err = run_cli(*fit_args(survey, "--trainer.logger=false", f"--model.init_weights={weights}",
                                     "--experiment=ft", "--model.net.base_channels=99"))
    assert code == 0, err
    ckpt = torch.load(the_run() / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["hyper_parameters"]["net"]["base_channels"] == start.net["base_channels"], "the file's architecture wins"
