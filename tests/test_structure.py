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


# ---------------------------------------------------------------- the package's shape: stages, one direction
#: The stages of the data flow, lowest first: a module may import its own stage or a lower one, never a higher one.
STAGES = [("errors",), ("files", "progress", "config"), ("segy", "normalize", "denoisers", "synth"), ("edges",),
          ("branches",), ("models",), ("data",), ("inference",), ("evaluation",), ("training",), ("api",), ("cli",)]


def _import_graph() -> dict[str, set[str]]:
    """Every seisfuse module and the seisfuse modules it imports (at the top or inside functions)."""
    import ast

    root = Path(__import__("seisfuse").__file__).parent
    modules = {".".join(("seisfuse", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seisfuse"):
                for alias in node.names:  # `from seisfuse.x import y` names a module y or a name of x
                    deps.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("seisfuse")}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _stage(module: str) -> int:
    if module == "seisfuse":  # the package root: its version, and the Python API imported on first use
        return 0
    top = module.split(".")[1]
    return next((i for i, names in enumerate(STAGES) if top in names), len(STAGES))


def test_the_package_root_shows_the_stages_and_imports_never_go_up_or_round():
    root = Path(__import__("seisfuse").__file__).parent
    flat = sorted(p.stem for p in root.glob("*.py") if p.stem != "__init__")
    assert len(flat) <= 8, f"a handful of modules at the root, the rest in stage packages: {flat}"
    graph = _import_graph()
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                    if m != "seisfuse" and _stage(d) > _stage(m))  # the root's lazy `api` import is its purpose
    assert not upward, upward
    seen: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:  # depth-first: 1 on the stack, 2 done
        seen[m] = 1
        for d in sorted(graph[m]):
            if seen.get(d) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(path[path.index(d):] + [d])}")
            if d not in seen:
                visit(d, [*path, d])
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])


def test_xarray_opens_segy_through_the_seisfuse_engine(tmp_path):
    import xarray as xr

    import seisfuse

    path = synth_segy(tmp_path / "s.sgy", inlines=3, crosslines=7, samples=20, seed=1)
    with xr.open_dataset(path, engine="seisfuse") as ds, seisfuse.open_segy(path) as ref:
        xr.testing.assert_identical(ds["data"], ref["data"])
        assert ds["data"].dims == ("iline", "xline", "twt") and ds.attrs["sample_format"] == ref.attrs["sample_format"]
    with xr.open_dataset(path) as guessed:  # .sgy: xarray picks the engine itself
        assert guessed["data"].shape == (3, 7, 20)
    with xr.open_dataset(path, engine="seisfuse", drop_variables=["cdp_x"]) as ds:
        assert "cdp_x" not in ds.variables


# ---------------------------------------------------------------- rules across config sections
RULES = [
    (["--model.loss.reference=blindspot"], ["model.loss.reference and data.blindspot", "go together"]),
    (["--model.loss.reference=clean", "--data.blindspot={fraction: 0.01}"],
     ["model.loss.reference and data.blindspot", "train on masked inputs"]),
    (["--model.loss.reference=sources", "--data.noisier={ratio: 1.0}"],
     ["data.noisier and model.loss.reference", "needs reference clean"]),
    (["--model.loss.reference=clean", "--data.synthetic=null"],
     ["model.loss.reference and data.synthetic", "noise-free references"]),
]


@pytest.mark.parametrize("args,words", RULES, ids=["blindspot-loss-alone", "blindspot-data-alone", "noisier",
                                                   "clean-without-references"])
def test_each_rule_across_sections_fails_in_one_line_naming_both_keys_before_training(run_cli, tmp_path, args, words):
    survey = synth_segy(tmp_path / "s.sgy", inlines=8, crosslines=48, samples=48, seed=2)
    code, out, err = run_cli("fit", "--config", Path(__file__).with_name("tiny.yaml"), f"--data.train_files=[{survey}]",
                             "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path / 'run'}", *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("seisfuse: error: config: "), err
    assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / "run" / "checkpoints").exists(), "nothing was built"
