"""The section pool: whole sections with every branch computed once and cached, and the patches cut from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, synth_segy

from seisfuse.branches import Branches, BranchSettings
from seisfuse.data.pool import Pool, SectionPool, build_section, plan_jobs
from seisfuse.data.pool_patches import PoolPatches
from seisfuse.errors import SeisfuseError
from seisfuse.normalize import Normalizer

BRANCHES = BranchSettings(branches=("raw", "edge", "fxdecon"))  # a denoiser branch that needs no extra


def small_pool(tmp_path: Path, **kw) -> Pool:
    return Pool(**{"sections": 3, "size": (48, 40), "val_sections": 2, "patches_per_epoch": 8, "workers": 1,
                   "cache_dir": str(tmp_path / "cache"), **kw})


def test_sections_hold_every_branch_computed_on_the_whole_section(tmp_path):
    pool = small_pool(tmp_path)
    job = plan_jobs(pool, "train")[0]
    arrays = build_section(job, BRANCHES, pool)
    assert arrays["inputs"].shape == (3, 48, 40) and arrays["clean"].shape == (48, 40)
    raw = arrays["inputs"][0]
    expected = Branches(BRANCHES, Normalizer(1.0)).stack(2 * raw - 1)  # the same branches of the same section
    np.testing.assert_allclose(arrays["inputs"], expected, atol=1e-5)
    assert 0 <= arrays["clean"].min() and arrays["clean"].max() <= 1 and arrays["fault"].max() in (0.0, 1.0)


def test_the_cache_is_built_once_resumed_and_shared_by_pools_of_other_sizes(tmp_path):
    pool = small_pool(tmp_path)
    train = SectionPool(BRANCHES, pool, "train")
    assert len(train.missing()) == 3
    train.build(progress=False)
    assert not train.missing() and len(list(train.folder.glob("*.npz"))) == 3
    first = train.path(0).stat().st_mtime_ns
    bigger = SectionPool(BRANCHES, small_pool(tmp_path, sections=5), "train")
    assert [j.index for j in bigger.missing()] == [3, 4], "the three sections in common are read, not rebuilt"
    bigger.build(progress=False)
    assert train.path(0).stat().st_mtime_ns == first
    val = SectionPool(BRANCHES, pool, "val")
    assert len(val.missing()) == 2 and not set(val.names) & set(bigger.names), "validation: other seeds"
    other = SectionPool(BranchSettings(branches=("raw", "edge")), pool, "train")
    assert other.folder != train.folder, "other branches: another folder"


def test_patches_are_keyed_flipped_and_keep_polarity_symmetry(tmp_path):
    pool = small_pool(tmp_path)
    sections = SectionPool(BRANCHES, pool, "train")
    sections.build(progress=False)
    ds = PoolPatches(sections, 32, 8, seed=1)
    a, b = ds[(0, 3)], ds[(0, 3)]
    assert torch.equal(a["inputs"], b["inputs"]), "a key draws the same patch"
    assert not torch.equal(ds[(1, 3)]["inputs"], a["inputs"]), "another epoch another patch"
    assert a["inputs"].shape == (3, 32, 32) and a["raw"].shape == (1, 32, 32) and bool(a["has_clean"])
    assert torch.equal(a["inputs"][:1], a["raw"])
    for i in range(8):  # every item is a crop of its section, flipped or negated about 0.5 (amplitude 0)
        item = ds[(0, i)]
        whole = sections.load(int(item["key"].split(":")[-1]))["inputs"]
        crop = item["inputs"].numpy()
        found = any(np.allclose(v, crop, atol=1e-6) for y in range(whole.shape[1] - 31) for x in range(whole.shape[2] - 31)
                    for w in (whole[:, y:y + 32, x:x + 32],) for v in (w, w[..., ::-1], 1 - w, 1 - w[..., ::-1]))
        assert found, i
    val = PoolPatches(SectionPool(BRANCHES, pool, "val"), 32, 2, seed=0, augment=False)
    with pytest.raises(FileNotFoundError):
        val[(0, 0)]  # not built: the DataModule builds before it reads


def test_semi_real_sections_of_a_real_line_and_the_real_fraction(tmp_path):
    line = synth_segy(tmp_path / "line.sgy", inlines=1, crosslines=48, samples=64, seed=4)
    pool = small_pool(tmp_path, sections=2, real_files=[str(line)], real_copies=2, real_dt_ms=[2.0],
                      real_fraction=1.0)
    sections = SectionPool(BRANCHES, pool, "train")
    assert [j.kind for j in sections.jobs] == ["synthetic"] * 2 + ["real"] * 4
    sections.build(progress=False)
    resampled = sections.load(4)  # the line resampled to 2 ms: twice the samples
    assert sections.load(2)["clean"].shape == (64, 48) and resampled["clean"].shape == (128, 48)
    assert not np.array_equal(sections.load(2)["inputs"][0], sections.load(3)["inputs"][0]), "another noisy copy"
    ds = PoolPatches(sections, 32, 16, seed=0, real_fraction=1.0)
    assert all(ds._pick(np.random.default_rng(i)) >= 2 for i in range(20)), "real_fraction 1: semi-real only"
    with pytest.raises(SeisfuseError, match="matches no files"):
        Pool(real_files=[str(tmp_path / "none*.sgy")])


def test_a_fit_on_the_pool_trains_the_branches_it_lists(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEISFUSE_RUN_DIR", raising=False)
    code, _, err = run_cli("fit", "--config", ROOT / "tests" / "tiny.yaml", "--trainer.logger=false",
                           "--data.branches=[raw, edge, fxdecon]", "--data.val_fraction=0", "--model.loss.reference=clean",
                           "--data.pool={sections: 3, size: [48, 48], val_sections: 2, patches_per_epoch: 8, workers: 1}",
                           f"--data.cache_dir={tmp_path / 'cache'}", "--data.patch_size=40")
    assert code == 0, err
    ckpt = next(Path("runs").rglob("*.ckpt"))
    from seisfuse.inference.weights import load_model_file

    model = load_model_file(ckpt)
    assert model.branches.branches == ("raw", "edge", "fxdecon") and model.net["inputs"] == 3
    code, _, err = run_cli("fit", "--config", ROOT / "tests" / "tiny.yaml", "--trainer.logger=false",
                           "--data.branches=[raw, edge, fxdecon]", f"--data.train_files=[{synth_segy(tmp_path / 's.sgy')}]")
    assert code == 2 and "data.branches: fxdecon are computed on whole sections" in err, err


def test_a_survey_in_the_pool_gives_blind_spot_patches_with_its_denoiser_branches(tmp_path):
    from seisfuse.data.blindspot import BlindSpot

    line = synth_segy(tmp_path / "noisy.sgy", inlines=1, crosslines=48, samples=64, seed=6, noise=0.5)
    pool = small_pool(tmp_path, sections=2, survey_files=[str(line)], survey_fraction=1.0)
    sections = SectionPool(BRANCHES, pool, "train")
    assert [j.kind for j in sections.jobs] == ["synthetic", "synthetic", "survey"]
    sections.build(progress=False)
    with pytest.raises(ValueError, match="set data.blindspot"):
        PoolPatches(sections, 32, 4, seed=0, survey_fraction=1.0)
    ds = PoolPatches(sections, 32, 16, seed=0, survey_fraction=1.0, blindspot=BlindSpot(fraction=0.05))
    whole = sections.load(2)["inputs"]
    for i in range(16):
        item = ds[(0, i)]
        assert item["key"].endswith(":2") and not bool(item["has_clean"])
        hidden = item["mask"][0].numpy() > 0.5
        assert hidden.sum() > 0
        raw, target = item["raw"][0].numpy(), item["target"][0].numpy()
        assert np.all(raw[~hidden] == target[~hidden]) and not np.array_equal(raw[hidden], target[hidden])
        crop = item["inputs"][2].numpy()  # the denoiser's branch: a crop of the whole section's, flipped or negated
        assert any(np.allclose(v, crop, atol=1e-6) for y in range(64 - 31) for x in range(48 - 31)
                   for w in (whole[2, y:y + 32, x:x + 32],) for v in (w, w[:, ::-1], 1 - w, 1 - w[:, ::-1]))


def test_adapting_a_model_with_denoiser_branches_to_a_survey(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEISFUSE_RUN_DIR", raising=False)
    line = synth_segy(tmp_path / "noisy.sgy", inlines=1, crosslines=48, samples=64, seed=6, noise=0.5)
    code, _, err = run_cli("fit", "--config", ROOT / "tests" / "tiny.yaml", "--trainer.logger=false",
                           "--data.branches=[raw, edge, fxdecon]", "--data.val_fraction=0",
                           "--model.loss.reference=blindspot", "--data.blindspot={fraction: 0.02}",
                           "--data.pool={sections: 2, size: [48, 48], val_sections: 1, patches_per_epoch: 8, workers: 1}",
                           f"--data.files=[{line}]", f"--data.cache_dir={tmp_path / 'cache'}", "--data.patch_size=40")
    assert code == 0, err
    assert list((tmp_path / "cache").rglob("survey-*.npz")), "the survey's sections went into the pool"
