"""Ranking runs by the truth: val/score, the end-of-run benchmark (JSON and W&B Tables), `seisfuse runs`, the sweep."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, synth_segy
from matplotlib.image import imread
from wandb_records import offline_runs, read_run

TINY = ROOT / "tests" / "tiny.yaml"
DEFAULT = ROOT / "configs" / "default.yaml"


@pytest.fixture(scope="module")
def real_line(tmp_path_factory) -> Path:
    return synth_segy(tmp_path_factory.mktemp("line") / "line.sgy", inlines=1, crosslines=64, samples=64, seed=12)


def tiny_fit(run_cli, survey: Path, *extra: str) -> Path:
    code, _, err = run_cli("fit", "--config", DEFAULT, "--config", TINY, f"--data.train_files=[{survey}]", *extra)
    assert code == 0, err
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    return max(Path("runs").glob("*/*"), key=lambda p: p.stat().st_mtime)


@pytest.mark.slow
def test_a_fit_ends_with_the_benchmark_in_json_and_offline_wandb_tables(run_cli, workdir, real_line):
    survey = synth_segy(workdir / "s.sgy", inlines=24, crosslines=48, samples=64, faults=2, seed=5)
    run = tiny_fit(run_cli, survey, "--experiment=bench", "--benchmark.enabled=true",
                   '--benchmark.surveys=["white 0.3"]', "--benchmark.sections=1",
                   "--benchmark.classical=[gaussian, fxdecon]", "--benchmark.oracle=false",
                   f"--benchmark.real_files=[{real_line}]", "--benchmark.noise=[white]", "--benchmark.ratios=[0.5]")
    result = json.loads((run / "benchmark.json").read_text())
    cases = {(c["file"], c["noise"]) for c in result["cases"]}
    assert cases == {("white 0.3", "white"), ("line.sgy", "white")}
    for case in result["cases"]:
        rows = case["rows"]
        assert {case["model"], "noisy input", "gaussian (tuned)", "fxdecon (tuned)"} <= set(rows)
        assert all(0 < r["SSIM"] <= 1 and r["seconds"] >= 0 for r in rows.values())
    summary = result["summary"]
    assert summary["cases"] == 2 and 0 < summary["synthetic_ssim_mean"] <= 1 and 0 < summary["semi_real_ssim_mean"] <= 1
    assert 0 <= summary["wins_vs_fxdecon"] <= 2 and "checkpoint" in result
    (folder,) = offline_runs(run / "wandb")
    rec = read_run(folder)
    assert rec.summary["benchmark/cases"] == 2 and "benchmark/wins_vs_gaussian" in rec.summary
    tables = [json.loads(p.read_text()) for p in (folder / "files" / "media" / "table").rglob("*.table.json")]
    bench = [t for t in tables if t["columns"][:4] == ["case", "noise", "ratio", "row"]]
    assert bench and len(bench[0]["data"]) == sum(len(c["rows"]) for c in result["cases"])
    assert rec.values("val/score") and all(0 < v <= 1 for v in rec.values("val/score"))


def test_seisfuse_runs_prints_what_differs_ranks_by_score_and_draws(run_cli, workdir):
    survey = synth_segy(workdir / "s.sgy", inlines=24, crosslines=48, samples=64, faults=2, seed=5)
    first = tiny_fit(run_cli, survey, "--experiment=abl", "--trainer.logger=seisfuse.training.tracking.CSVLogger",
                     "--model.loss.w_l1=0.5")
    second = tiny_fit(run_cli, survey, "--experiment=abl", "--trainer.logger=seisfuse.training.tracking.CSVLogger",
                      "--model.loss.w_l1=2.0")
    assert first != second
    png = workdir / "runs.png"
    code, out, err = run_cli("runs", "runs/abl", "--png", png)
    assert code == 0, err
    lines = out.splitlines()
    assert "2 runs" in lines[0] and "model.loss.w_l1" in lines[1] and "best val/score" in lines[1]
    assert "trainer.default_root_dir" not in out, "paths that always differ are no experiment's knobs"
    assert lines[-1] == f"wrote {png}"
    body = [ln for ln in lines[3:-1] if ln.strip()]
    assert len(body) == 2 and {"0.5000", "2.0000"} == {ln.split()[1] for ln in body}
    scores = [float(ln.split()[2]) for ln in body]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores), "ranked by val/score"
    assert imread(png).shape[1] == 1300
    code, _, err = run_cli("runs", workdir / "nothing-here")
    assert code == 1 and "nothing-here" in err
    history = first / "csv" / "metrics.csv"
    before = history.read_bytes()
    for target in (history, first / "config.yaml"):  # --png over a file it reads: refused, --force or not
        code, _, err = run_cli("runs", "runs/abl", "--png", target, "--force")
        assert code == 1 and "a file this command reads" in err and history.read_bytes() == before


def test_broken_run_folders_are_named_and_the_healthy_runs_still_shown(run_cli, workdir):
    import shutil

    survey = synth_segy(workdir / "s.sgy", inlines=24, crosslines=48, samples=64, faults=2, seed=5)
    good = tiny_fit(run_cli, survey, "--experiment=mix", "--trainer.logger=seisfuse.training.tracking.CSVLogger")
    broken = {}
    for name, path, content in (
            ("bomb", "config.yaml", "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True))),
            ("binary", "csv/metrics.csv", b"\xff\xfe\x00garbage\x00\xff"),
            ("partial", "benchmark.json", '{"summary": {"cases": 3'),
            ("truncated", "config.yaml", "model:\n  net: {base_channels: [1, 2\n")):
        run = good.parent / name
        shutil.copytree(good, run)
        (run / path).write_bytes(content if isinstance(content, bytes) else content.encode())
        broken[name] = run / path
    code, out, err = run_cli("runs", "runs/mix")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 4 and all(ln.startswith("seisfuse: error: ") for ln in lines), err
    for name, path in broken.items():
        assert sum(str(path) in ln for ln in lines) == 1, (name, err)
    assert "alias" in err and "not a text file" in err and "not valid JSON" in err and "not valid YAML" in err
    assert "1 runs" in out and good.name in out and "Traceback" not in err


def test_the_sweep_maximizes_a_metric_that_runs_log(run_cli, workdir):
    sweep = yaml.safe_load((ROOT / "configs" / "sweep.yaml").read_text())
    assert sweep["metric"] == {"name": "val/score", "goal": "maximize"}
    survey = synth_segy(workdir / "s.sgy", inlines=24, crosslines=48, samples=64, faults=2, seed=5)
    lr = next(iter(sweep["parameters"]))
    run = tiny_fit(run_cli, survey, "--experiment=sw", f"--{lr}=0.0004")
    (folder,) = offline_runs(run / "wandb")
    rec = read_run(folder)
    assert rec.values(sweep["metric"]["name"]), "the sweep's metric is in the run's history"
    assert rec.config["model"]["optimizer"]["init_args"]["lr"] == 0.0004, "the sweep's parameter reaches the model"
    for key in sweep["parameters"]:
        node = rec.config
        for part in key.split("."):
            node = node[part]


def test_the_ablation_sweep_and_script_cover_every_experiment():
    import subprocess

    sweep = yaml.safe_load((ROOT / "configs" / "sweep_ablations.yaml").read_text())
    listed = {Path(p).name for p in sweep["parameters"]["config"]["values"]}
    assert listed == {p.name for p in (ROOT / "configs" / "experiment").glob("*.yaml")}
    assert sweep["metric"]["name"] == "val/score" and sweep["method"] == "grid"
    res = subprocess.run(["bash", str(ROOT / "scripts" / "ablations.sh")], capture_output=True, text=True)
    assert res.returncode == 2 and "usage" in res.stderr
