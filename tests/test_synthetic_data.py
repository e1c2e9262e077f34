"""On-the-fly synthetic training data: deterministic by key, fresh every epoch, clean references, rank shards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import cube, write_segy

from seisfuse.branches import BranchSettings
from seisfuse.data import SeismicDataModule
from seisfuse.data.synthetic import EpochSampler, SyntheticData, SyntheticPatches, TrainingPatches
from seisfuse.errors import SeisfuseError
from seisfuse.synth.survey import SynthRanges

P = 40


def patches(**kw) -> SyntheticPatches:
    return SyntheticPatches(BranchSettings(), SyntheticData(**kw), P, length=16, seed=3)


def test_items_are_deterministic_by_key_and_fresh_per_epoch():
    ds = patches()
    a, b = ds[(0, 5)], ds[(0, 5)]
    for k in ("raw", "edge", "clean", "clean_edge", "fault"):
        assert a[k].shape == (1, P, P) and a[k].dtype == torch.float32
        assert torch.equal(a[k], b[k])
    assert not torch.equal(ds[(1, 5)]["raw"], a["raw"]), "another epoch draws another patch"
    assert not torch.equal(ds[(0, 6)]["raw"], a["raw"])
    assert bool(a["has_clean"])


def test_references_are_the_noise_free_section_with_the_same_clip():
    ds = patches(ranges=SynthRanges(noise=(0.5, 0.5), noise_kinds=("white",)))
    item = ds[(0, 0)]
    raw, clean = item["raw"][0].numpy(), item["clean"][0].numpy()
    noise = raw - clean
    assert 0 <= clean.min() and clean.max() <= 1 and abs(float(np.median(clean)) - 0.5) < 0.1
    assert np.corrcoef(raw.ravel(), clean.ravel())[0, 1] > 0.6, "same geometry, same scale"
    assert 0.01 < noise.std() < 0.3
    h = ds.halo  # the edge branch of the clean section, as the pipeline makes it (away from the patch border)
    expected = BranchSettings().pipeline(clean)[h:-h, h:-h]
    np.testing.assert_allclose(item["clean_edge"][0].numpy()[h:-h, h:-h], expected, atol=1e-5)
    quiet = SyntheticPatches(BranchSettings(), SyntheticData(ranges=SynthRanges(noise=(0.0, 0.0))), P, 4, seed=3)
    assert torch.allclose(quiet[(0, 1)]["raw"], quiet[(0, 1)]["clean"], atol=1e-6)


def test_epoch_sampler_shards_ranks_and_reshuffles():
    ds = patches()
    shards = [list(EpochSampler(ds, num_replicas=2, rank=r, seed=0)) for r in range(2)]
    keys = shards[0] + shards[1]
    assert len(keys) == 16 and len(set(keys)) == 16 and {e for e, _ in keys} == {0}
    s = EpochSampler(ds, num_replicas=1, rank=0, seed=0)
    s.set_epoch(4)
    later = list(s)
    assert {e for e, _ in later} == {4} and [i for _, i in later] != [i for _, i in shards[0]]


def test_training_patches_mix_real_files_with_their_own_references(tmp_path):
    path = write_segy(tmp_path / "real.sgy", cube(30, 50, 60, seed=2))
    dm = SeismicDataModule(train_files=[str(path)], patch_size=P, stride=20, split_gap=4, num_workers=0,
                           batch_size=4, synthetic={"patches_per_epoch": 6, "val_patches": 3})
    dm.setup("fit")
    loader = dm.train_dataloader()
    ds = loader.dataset
    assert isinstance(ds, TrainingPatches) and ds.n_real == len(dm.train_index) and len(ds) == ds.n_real + 6
    real = ds[(0, 0)]
    assert torch.equal(real["clean"], real["raw"]) and not bool(real["has_clean"]) and real["fault"].sum() == 0
    batch = next(iter(loader))
    assert set(batch) >= {"inputs", "raw", "edge", "clean", "clean_edge", "fault", "has_clean"}
    assert batch["inputs"].shape == (4, 2, P, P) and torch.equal(batch["inputs"][:, :1], batch["raw"])
    val = dm.val_dataloader().dataset
    assert len(val) == len(dm.val_index) + 3


def test_synthetic_only_data_and_clear_errors():
    dm = SeismicDataModule(patch_size=P, num_workers=0, batch_size=2, val_fraction=0.0,
                           synthetic={"patches_per_epoch": 4, "val_patches": 2})
    dm.setup("fit")
    assert len(dm.train_dataloader().dataset) == 4 and len(dm.val_dataloader().dataset) == 2
    panels = dm.panels(2)
    assert len(panels) == 2 and panels[0][1].shape == (2, 2 * P, 2 * P)
    with pytest.raises(SeisfuseError, match="nothing to train on"):
        SeismicDataModule(patch_size=P)
    with pytest.raises(SeisfuseError, match="data.synthetic"):
        SeismicDataModule(patch_size=P, synthetic={"patches_per_epoch": 0})
