"""Direct tests of the plumbing: the plan of a predict run, config reading for the classical commands, tracking."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import synth_segy

from seisfuse.errors import ConfigError, SettingError


# ---------------------------------------------------------------- plan.py
@pytest.mark.parametrize("world", [1, 2, 3, 5])
def test_the_plan_gives_every_section_to_exactly_one_rank_in_numbered_groups(tmp_path, world):
    from seisfuse.inference.plan import PlannedFile, schedule, split_sections
    from seisfuse.segy import open_volume

    paths = [synth_segy(tmp_path / f"f{i}.sgy", inlines=7 + i, crosslines=12, samples=32, seed=i) for i in range(2)]
    volumes = [open_volume(p) for p in paths]
    files = [PlannedFile(i, p, tmp_path / f"o{i}.sgy", v, v.fusion_axes("both")) for i, (p, v) in
             enumerate(zip(paths, volumes, strict=True))]
    seen: dict[tuple[int, str], list[int]] = {}
    for rank in range(world):
        steps = schedule(files, rank, world, batch_size=3, block_bytes=2**20)
        numbers = [g.number for s in steps for g in s.groups]
        assert numbers == list(range(len(numbers))), "groups are numbered in the order the loop meets them"
        for s in steps:
            assert s.sync == split_sections(len(files), world) and s.average == (s.axis == "crossline")
            for g in s.groups:
                assert len(g.sections) <= 3 or volumes[g.file].strided(g.axis)
                seen.setdefault((g.file, g.axis), []).extend(g.sections)
    for f, v in enumerate(volumes):
        for axis in ("inline", "crossline"):
            assert sorted(seen[(f, axis)]) == list(range(v.n_sections(axis))), "each section once, by one rank"
    for v in volumes:
        v.close()


# ---------------------------------------------------------------- cli/common: the classical commands' config reading
def _args(configs: list[Path], overrides: list[str]) -> argparse.Namespace:
    return argparse.Namespace(config=[str(c) for c in configs], overrides=overrides)


def test_branch_settings_merge_config_files_in_order_and_take_overrides(tmp_path):
    from seisfuse.cli.common import branch_settings

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("trainer: {max_epochs: 3}\ndata:\n  edges: [{op: gaussian, sigma: 2.0}]\n  clip_percentile: 99\n")
    b.write_text("data:\n  clip_percentile: 98\n")
    s = branch_settings(_args([a, b], []))
    assert s.pipeline.describe() == "gaussian(sigma=2)" and s.clip_percentile == 98.0
    s = branch_settings(_args([a], ["--data.edges=[{op: median, size: 5}]", "--data.clip_percentile=97"]))
    assert s.pipeline.describe() == "median(size=5)" and s.clip_percentile == 97.0
    assert branch_settings(_args([], [])).clip_percentile == 99.5
    with pytest.raises(SettingError, match="reads only data.edges and data.clip_percentile"):
        branch_settings(_args([a], ["--data.patch_size=64"]))
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {edges: [{op: sobell}]}\n")
    with pytest.raises(ConfigError, match="bad.yaml.*unknown edge op 'sobell'"):
        branch_settings(_args([bad], []))
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="a config is a mapping"):
        branch_settings(_args([tmp_path / "list.yaml"], []))


def test_flags_name_library_arguments_and_config_keys():
    from seisfuse.cli.common import flag

    assert flag("output_dir") == "--output-dir" and flag("data.batch_size") == "--data.batch_size"


# ---------------------------------------------------------------- tracking
def test_pinned_run_ids(tmp_path, monkeypatch):
    from seisfuse.training.tracking import RUN_ID_FILE, pinned_run_id

    for var in ("WANDB_RUN_ID", "SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(var, raising=False)
    first = pinned_run_id(tmp_path / "a")
    assert len(first) == 8 and pinned_run_id(tmp_path / "a") == first, "saved in the run folder, then reused"
    assert (tmp_path / "a" / RUN_ID_FILE).read_text().strip() == first
    monkeypatch.setenv("SLURM_JOB_ID", "12345")
    assert pinned_run_id(tmp_path / "b") == "slurm-12345"
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "7")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert pinned_run_id(tmp_path / "c") == "slurm-7-3"
    monkeypatch.setenv("WANDB_RUN_ID", "sweeptrial")
    assert pinned_run_id(tmp_path / "d") == "sweeptrial"


def test_an_export_without_a_wandb_run_logs_nothing(trained, tmp_path, monkeypatch):
    from seisfuse.inference.weights import export
    from seisfuse.training.tracking import log_export, run_folder_of

    monkeypatch.setenv("WANDB_MODE", "offline")
    assert run_folder_of(trained) == trained.parent.parent
    out = tmp_path / "m.pt"
    model = export(trained, out)
    assert log_export(trained, out, model) is None, "the trained fixture ran without W&B"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert log_export(trained, out, model, always=True) is None


def test_the_csv_writer_keeps_an_earlier_history(tmp_path, monkeypatch):
    from seisfuse.training.tracking import CSVLogger

    monkeypatch.setenv("SEISFUSE_RUN_DIR", str(tmp_path))
    first = CSVLogger()
    first.log_metrics({"val/score": 0.5}, step=1)
    first.save()
    second = CSVLogger()  # a resumed run in the same folder
    second.log_metrics({"val/score": 0.6, "val/loss": 0.1}, step=2)
    second.save()
    rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].split(",") == ["step", "val/loss", "val/score"]
    assert rows[1].startswith("1,") and rows[2].startswith("2,")
    os.environ.pop("SEISFUSE_RUN_DIR", None)


# ---------------------------------------------------------------- evaluate: classical rows, seconds
def test_evaluate_scores_classical_rows_with_their_time(tmp_path):
    from seisfuse.branches import BranchSettings
    from seisfuse.evaluation.evaluate import classical_names, evaluate
    from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

    cfg = SynthConfig(inlines=4, crosslines=48, samples=64, faults=1, noise=0.5, seed=3)
    s = make_survey(cfg)
    noisy, clean = tmp_path / "n.sgy", tmp_path / "c.sgy"
    write_volume(noisy, s.seismic, cfg)
    write_volume(clean, s.clean, cfg, "clean")
    res = evaluate(str(noisy), [str(noisy)], BranchSettings(), clean_path=str(clean), n_sections=2,
                   classical=classical_names("gaussian,fxdecon"))
    assert res.classical_names == ["gaussian (tuned)", "fxdecon (tuned)"]
    for name in res.classical_names:
        row = res.rows[name]
        assert row["seconds"] > 0 and row["SSIM_clean"] > res.rows["input (raw)"]["SSIM_clean"]
    assert set(res.as_dict()["classical"]) == set(res.classical_names)
    with pytest.raises(ValueError, match="unknown denoiser"):
        classical_names("nlm")
    assert np.isfinite(res.rows["n.sgy"]["SSIM_clean"])
