"""SeismicDataModule: spatial split, live-trace filtering, exact edge patches, workers, cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import cube, synth_segy, write_segy

from seisfuse.data import SeismicDataModule, grid_positions, live_fraction
from seisfuse.errors import SeisfuseError
from seisfuse.segy import open_volume

P = 40


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "survey.sgy"
    synth_segy(path, inlines=64, crosslines=56, samples=96, faults=2, seed=5)
    return path


def dm_for(paths, **kw) -> SeismicDataModule:
    args = {"patch_size": P, "stride": 20, "split_gap": 8, "num_workers": 0, "batch_size": 4}
    args.update(kw)
    dm = SeismicDataModule(train_files=[str(p) for p in paths], **args)
    dm.setup("fit")
    return dm


def test_grid_positions_cover_the_length():
    assert list(grid_positions(100, 40, 20)) == [0, 20, 40, 60]
    assert list(grid_positions(95, 40, 20)) == [0, 20, 40, 55]
    assert len(grid_positions(30, 40, 20)) == 0


def test_spatial_split_never_overlaps(survey):
    dm = dm_for([survey], val_fraction=0.25)
    n_il = 64
    val_start, train_end = n_il - 16, n_il - 16 - 8
    tr, va = dm.train_index, dm.val_index
    assert len(tr) and len(va)
    # inline patches: the section index is the inline position
    assert tr[tr["axis"] == 0]["section"].max() < train_end
    assert va[va["axis"] == 0]["section"].min() >= val_start
    # crossline patches run along the inline direction: confined to their region, jitter included
    xl_train = tr[tr["axis"] == 1]
    assert len(xl_train) and (xl_train["x0"] + P <= train_end).all() and (xl_train["x_hi"] == train_end).all()
    ds = dm.train_dataset()
    for i in np.flatnonzero(tr["axis"] == 1)[:50]:
        for _ in range(5):
            _, _, _, _, x0 = ds.position(int(i))
            assert 0 <= x0 and x0 + P <= train_end


def test_patch_pairs_equal_whole_section_computation(survey):
    dm = dm_for([survey])
    ds = dm.val_dataset()
    for i in [0, len(ds) // 2, len(ds) - 1]:
        f, axis, k, y0, x0 = ds.position(i)
        sf = dm.files[f]
        raw = sf.branches.normalizer.forward(sf.section(axis, k))
        edge = dm.branch_settings.pipeline(raw)
        item = ds[i]
        assert item["raw"].shape == (1, P, P) and item["raw"].dtype == torch.float32
        np.testing.assert_array_equal(item["raw"][0].numpy(), raw[y0:y0 + P, x0:x0 + P])
        np.testing.assert_array_equal(item["edge"][0].numpy(), edge[y0:y0 + P, x0:x0 + P])


def test_flip_is_horizontal_only(survey):
    dm = dm_for([survey], jitter=False)
    ds = dm.train_dataset()
    torch.manual_seed(0)
    seen = set()
    plain = ds.pair(*ds.position(3))[0]
    for _ in range(20):
        out = ds[3]["raw"][0].numpy()
        if np.array_equal(out, plain):
            seen.add("plain")
        elif np.array_equal(out, plain[:, ::-1]):
            seen.add("flipped")
        else:
            raise AssertionError("only left-right flips are allowed")
    assert seen == {"plain", "flipped"}


def test_dead_traces_and_mutes_are_dropped(tmp_path):
    data = cube(30, 90, 80, seed=1)
    data[:, :30] = 0  # first half of every inline dead
    data[:, 30:, :40] = 0  # a mute on the rest
    path = write_segy(tmp_path / "dead.sgy", data)
    dm = dm_for([path], val_fraction=0.0, axes=["inline"], stride=10, min_live_fraction=0.8)
    rows = dm.train_index
    assert len(rows)
    assert (rows["x0"] >= 30).all() and (rows["y0"] >= 32).all()
    everything = dm_for([path], val_fraction=0.0, axes=["inline"], stride=10, min_live_fraction=0.0)
    assert len(everything.train_index) > len(rows)
    assert len(dm.val_index) == 0 and dm.panels(2) == []  # no validation region: no panel sections either


def test_live_fraction_counts_samples():
    first = np.array([0, 0, -1, 5])
    last = np.array([9, 4, -1, 9])
    frac = live_fraction(first, last, np.array([0, 5]), np.array([0, 2]), 2)
    # y0=5, x0=2: trace 2 is dead, trace 3 is live from sample 5: 2 of 4 samples
    np.testing.assert_allclose(frac, [[1.0, 0.0], [0.5, 0.5]])


def test_2d_line_gives_one_section_split_along_traces(tmp_path):
    data = cube(1, 160, 64, seed=2)
    path = write_segy(tmp_path / "line.sgy", data, iline_byte=9, xline_byte=21, xlines=np.arange(1, 161))
    dm = dm_for([path], val_fraction=0.25)
    assert set(dm.train_index["axis"]) == {0} and set(dm.train_index["section"]) == {0}
    assert (dm.train_index["x0"] + P <= 120 - 8).all() and (dm.val_index["x0"] >= 120).all()
    assert (dm.train_index["x_lo"] == 0).all()
    name, stack, axes = dm.panels(2)[0]
    assert stack.shape == (2, 64, 40) and "line" in name
    assert axes["x_label"] == "trace key" and axes["y_label"] == "time (ms)" and axes["x0"] == 121  # trace keys, ms


def test_separate_val_files_and_panels(survey, tmp_path):
    other = tmp_path / "other.sgy"
    synth_segy(other, inlines=20, crosslines=48, samples=64, seed=9)
    dm = SeismicDataModule(train_files=[str(survey)], val_files=[str(other)], patch_size=P, stride=20,
                           num_workers=0)
    dm.setup("fit")
    assert set(dm.val_index["file"]) == {1} and set(dm.train_index["file"]) == {0}
    assert (dm.train_index["section"][dm.train_index["axis"] == 0]).max() == 63, "no split inside the train file"
    panels = dm.panels(2)
    assert len(panels) == 2 and all(p[1].shape == (2, 64, 48) for p in panels)
    again = dm.panels(2)
    assert [p[0] for p in panels] == [p[0] for p in again]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(panels, again, strict=True))


def test_workers_open_their_own_handles(survey):
    dm = dm_for([survey], num_workers=2, batch_size=8)
    batches = [b for _, b in zip(range(3), dm.train_dataloader(), strict=False)]
    assert len(batches) == 3 and batches[0]["raw"].shape == (8, 1, P, P)
    assert all(0 <= float(b["edge"].min()) and float(b["edge"].max()) <= 1 for b in batches)


def test_cache_gives_identical_patches(survey, tmp_path):
    plain = dm_for([survey])
    cached = dm_for([survey], cache_dir=str(tmp_path / "cache"))
    cached.prepare_data()
    assert list((tmp_path / "cache").glob("*.npy"))
    held_out = tmp_path / "held_out.sgy"
    synth_segy(held_out, inlines=10, crosslines=48, samples=64, seed=4)
    with_test = SeismicDataModule(train_files=[str(survey)], test_files=[str(held_out)], cache_dir=str(tmp_path / "c2"))
    with_test.prepare_data()
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "c2").glob("*.npy")) == ["held_out", "survey"]
    for i in [0, 7, len(plain.val_index) - 1]:
        a, b = plain.val_dataset()[i], cached.val_dataset()[i]
        assert torch.equal(a["raw"], b["raw"]) and torch.equal(a["edge"], b["edge"])


@pytest.mark.parametrize("kw,message", [
    ({"patch_size": 200}, "no usable 200 x 200 patches"),
    ({"edges": [{"op": "blur"}]}, "data.edges"),
    ({"axes": ["depth"]}, "unknown axis"),
    ({"val_fraction": 0.5, "split_gap": 40}, "too small to split"),
])
def test_bad_data_settings_are_clear(survey, kw, message):
    with pytest.raises(SeisfuseError, match=message):
        dm_for([survey], **kw)


def test_missing_files_and_patterns(tmp_path):
    with pytest.raises(SeisfuseError, match="no such file"):
        SeismicDataModule(train_files=[str(tmp_path / "nope.sgy")])
    with pytest.raises(SeisfuseError, match="matches no files"):
        SeismicDataModule(train_files=[str(tmp_path / "*.sgy")])


@pytest.mark.parametrize("cache", [False, True])
def test_start_up_reads_each_file_once_over_four_ranks_and_a_requeue(survey, tmp_path, monkeypatch, cache):
    """prepare_data (one rank) reads each file once; every other rank and the requeued job load the saved facts."""
    from types import SimpleNamespace

    from seisfuse.segy.volume import Volume

    read = []
    original = Volume.read_traces
    monkeypatch.setattr(Volume, "read_traces", lambda self, idx: read.append(len(idx)) or original(self, idx))
    run = tmp_path / "run"
    kw = {"cache_dir": str(tmp_path / "cache")} if cache else {}

    def rank() -> SeismicDataModule:
        dm = SeismicDataModule(train_files=[str(survey)], patch_size=P, stride=20, split_gap=8, num_workers=0, **kw)
        dm.trainer = SimpleNamespace(default_root_dir=str(run))  # as Lightning attaches it
        return dm

    first = rank()
    first.prepare_data()  # rank zero of the node
    ranks = [first] + [rank() for _ in range(3)]
    for dm in ranks:
        dm.setup("fit")
    requeued = rank()
    requeued.prepare_data()
    requeued.setup("fit")
    with open_volume(survey) as vol:
        n_traces = vol.n_traces
    assert sum(read) == n_traces, f"{sum(read)} trace reads for a file of {n_traces} traces"
    reference = dm_for([survey])  # computed directly, without saved facts
    for dm in (ranks[-1], requeued):
        assert dm.files[0].branches.normalizer.clip == reference.files[0].branches.normalizer.clip
        np.testing.assert_array_equal(dm.train_index, reference.train_index)
