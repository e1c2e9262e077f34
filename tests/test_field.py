"""Field data without a reference: blind-spot masking and adaptation, local similarity, spectra, QC in evaluate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, synth_segy

from seisfuse.branches import Branches, BranchSettings
from seisfuse.data.blindspot import BlindSpot, apply_masking, draw_masking
from seisfuse.evaluation.qc import amplitude_spectrum, bandwidth, field_qc, local_similarity, triangle_smooth
from seisfuse.normalize import Normalizer
from seisfuse.synth import SynthConfig, make_survey


# ---------------------------------------------------------------- blind-spot masking
def test_hidden_pixels_reach_the_network_through_neither_branch():
    """Perturbing a hidden pixel's true value changes neither the masked raw branch nor the recomputed edge branch."""
    rng = np.random.default_rng(0)
    section = rng.standard_normal((96, 80)).astype(np.float32)
    branches = Branches(BranchSettings(), Normalizer(3.0))
    read = lambda ya, yb, xa, xb, s=section: s[ya:yb, xa:xb]  # noqa: E731
    y0, x0, p = 16, 16, 48
    window, origin = branches.window_in_region(read, section.shape, y0, y0 + p, x0, x0 + p)
    masking = draw_masking(window.shape, (y0 - origin[0], x0 - origin[1]), p, BlindSpot(fraction=0.02), rng)
    raw, edge = branches.pair_of_window(apply_masking(window, masking), origin, y0, y0 + p, x0, x0 + p)
    assert masking.hidden.sum() == round(0.02 * p * p)
    for y, x in zip(*np.nonzero(masking.hidden), strict=True):
        touched = window.copy()
        touched[y + y0 - origin[0], x + x0 - origin[1]] = 1.0 - touched[y + y0 - origin[0], x + x0 - origin[1]]
        raw2, edge2 = branches.pair_of_window(apply_masking(touched, masking), origin, y0, y0 + p, x0, x0 + p)
        np.testing.assert_array_equal(raw2, raw)
        np.testing.assert_array_equal(edge2, edge)


def test_the_loss_has_no_gradient_through_a_hidden_pixels_value():
    """Masking done in torch with the same index maps: d loss / d input is exactly zero at every hidden pixel."""
    from seisfuse.models import FusionNet
    from seisfuse.training.losses import FusionLoss, LossConfig

    rng = np.random.default_rng(1)
    h = w = 48
    masking = draw_masking((h, w), (0, 0), h, BlindSpot(fraction=0.03, structured=2), rng)
    original = torch.rand(1, 1, h, w, requires_grad=True)
    flat = original.reshape(-1)
    masked = flat.index_put((torch.from_numpy(masking.targets),), flat[torch.from_numpy(masking.sources)]).reshape(1, 1, h, w)
    edge_in = torch.rand(1, 1, h, w)  # the edge branch is data (recomputed from the masked raw), not a path to it
    net = FusionNet({"base_channels": 4, "dense_layers": 1, "growth": 4, "deform_channels": 4, "decoder_channels": [4]})
    for p_ in net.parameters():
        torch.nn.init.normal_(p_, std=0.1)
    out = net(torch.cat([masked, edge_in], 1))
    loss_fn = FusionLoss(LossConfig(reference="blindspot"), patch_size=48)
    hidden = torch.from_numpy(masking.hidden)[None, None].float()
    loss, parts = loss_fn(out, masked, edge_in, target=original.detach(), mask=hidden)
    loss.backward()
    grad = original.grad[0, 0].numpy()
    covered = masking.covered
    assert parts["blindspot"] > 0 and np.abs(grad[~covered]).sum() > 0, "the neighbours do matter"
    assert np.all(grad[covered] == 0), "no hidden value is seen"
    assert not np.any(np.isin(masking.sources, masking.targets)), "no replacement comes from a hidden pixel"


def test_structured_masks_hide_the_trace_above_and_below_and_replace_from_other_traces():
    rng = np.random.default_rng(2)
    m = draw_masking((64, 64), (0, 0), 64, BlindSpot(fraction=0.005, structured=3), rng)
    ys, xs = np.nonzero(m.hidden)
    for y, x in zip(ys, xs, strict=True):
        assert m.covered[max(0, y - 3): y + 4, x].all()
    assert np.all(m.sources % 64 != m.targets % 64), "replacements from other traces"


# ---------------------------------------------------------------- local similarity and spectra
def test_local_similarity_equals_the_published_formula_on_a_small_case():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((12, 9))
    b = 0.6 * a + 0.3 * rng.standard_normal(a.shape)
    radius = (3, 2)
    n = a.size
    smooth = np.stack([triangle_smooth(e.reshape(a.shape), radius).ravel() for e in np.eye(n)], axis=1)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:  # Fomel (2007) eq. 8, transliterated
        A, lam2 = np.diag(den.ravel()), np.mean(den ** 2)
        M = lam2 * np.eye(n) + smooth @ (A.T @ A - lam2 * np.eye(n))
        return np.linalg.solve(M, smooth @ A.T @ num.ravel()).reshape(a.shape)

    expected = np.sqrt(np.abs(ratio(b, a) * ratio(a, b)))
    np.testing.assert_allclose(local_similarity(a, b, radius, niter=400), expected, atol=1e-6)  # converged


def test_twenty_conjugate_gradient_iterations_barely_move_the_leakage_figures():
    """The default, a fixed NITER = 20 CG iterations of the shaping system, against the converged solution."""
    from seisfuse.denoisers import create_denoiser
    from seisfuse.evaluation.qc import NITER

    survey = make_survey(SynthConfig(inlines=1, crosslines=160, samples=300, faults=2, noise=0.5, seed=8))
    raw = np.clip(survey.seismic[0].T / np.percentile(np.abs(survey.seismic), 99.5), -1, 1) * 0.5 + 0.5
    out = create_denoiser("fxdecon")(raw.astype(np.float32)).astype(np.float64)
    fast = local_similarity(raw - out, out - 0.5)
    exact = local_similarity(raw - out, out - 0.5, niter=1000)
    assert NITER == 20
    assert abs(fast.mean() - exact.mean()) < 0.03 and abs((fast > 0.3).mean() - (exact > 0.3).mean()) < 0.05
    assert np.corrcoef(fast.ravel(), exact.ravel())[0, 1] > 0.95


def test_local_similarity_is_near_zero_for_independent_noise_and_one_for_removed_signal():
    rng = np.random.default_rng(4)
    t = np.arange(300)[:, None]
    signal = np.sin(2 * np.pi * t / 25.0 + 0.05 * np.arange(80)[None, :])
    assert local_similarity(rng.standard_normal(signal.shape), signal).mean() < 0.15
    assert local_similarity(0.2 * signal, signal).mean() > 0.99


def test_spectra_and_bandwidth():
    t = np.arange(500) * 0.004
    x = np.sin(2 * np.pi * 25 * t)[:, None] * np.ones((1, 10))
    f, s = amplitude_spectrum(x, 4.0)
    assert f[np.argmax(s)] == pytest.approx(25, abs=0.5)
    lo, hi = bandwidth(f, s, -6.0)
    assert 23 <= lo <= 25 <= hi <= 27
    qc = field_qc(x + 0.1 * np.random.default_rng(5).standard_normal(x.shape), x, 4.0)
    assert qc.leakage_mean < 0.2 and 0 < qc.removed_energy < 0.05


# ---------------------------------------------------------------- evaluate without a clean volume
def test_evaluate_without_clean_reports_leakage_and_spectra(trained, tmp_path, run_cli):
    src = synth_segy(tmp_path / "field.sgy", inlines=4, crosslines=48, samples=96, noise=0.4, seed=8)
    fused = tmp_path / "fused.sgy"
    code, _, err = run_cli("predict", "--ckpt", trained, "--input", src, "--output", fused, "--num-workers", "0",
                           "--quiet")
    assert code == 0, err
    js, png = tmp_path / "qc.json", tmp_path / "qc.png"
    code, out, err = run_cli("evaluate", "--input", src, "--fused", fused, "--json", js, "--qc-panel", png,
                             "--classical", "gaussian,fxdecon", "--sections", 2)
    assert code == 0, err
    res = json.loads(js.read_text())
    for row in (res["results"]["fused.sgy"], res["classical"]["fxdecon (tuned)"]):
        assert 0 <= row["leakage_mean"] <= 1 and 0 <= row["leakage_share"] <= 1 and row["removed_energy"] > 0
        assert row["band_6db_out_low_hz"] <= row["band_6db_out_high_hz"]
    assert len(res["spectra"]["hz"]) == len(res["spectra"]["fused.sgy"]) == 49
    assert "leakage_mean" in out and "no verdict" in out and res["verdict"] == [], "no reference: checks, no verdict"
    assert png.stat().st_size > 20_000


# ---------------------------------------------------------------- adaptation without clean data
@pytest.mark.slow
def test_adapting_to_a_noisy_file_alone_lowers_the_error_against_its_held_back_clean_volume(trained, tmp_path, run_cli,
                                                                                            monkeypatch):
    from seisfuse.evaluation.metrics import psnr
    from seisfuse.inference.fusers import load_fuser
    from seisfuse.segy import open_volume
    from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

    cfg = SynthConfig(inlines=1, crosslines=160, samples=160, faults=2, noise=0.6, seed=21, freq_hz=25)
    survey = make_survey(cfg)
    noisy = tmp_path / "line.sgy"
    write_volume(noisy, survey.seismic, cfg)  # the clean volume stays in memory: held back from training

    def error_of(ckpt: Path) -> float:
        out = tmp_path / f"{ckpt.stem}-fused.sgy"
        code, _, err = run_cli("predict", "--ckpt", ckpt, "--input", noisy, "--output", out, "--num-workers", "0",
                               "--quiet", "--force")
        assert code == 0, err
        with open_volume(out) as v:
            fused = v.section("inline", 0)
        clip = np.percentile(np.abs(survey.seismic), 99.5)
        return psnr(np.clip(fused / clip, -1, 1), np.clip(survey.clean[0].T / clip, -1, 1))

    before = error_of(trained)
    start = tmp_path / "start.pt"
    from seisfuse.inference.weights import export

    export(trained, start)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("fit", "--config", ROOT / "configs" / "adapt.yaml", "--config", ROOT / "tests" / "tiny.yaml",
                           f"--model.init_weights={start}", "--model.loss.reference=blindspot", f"--data.files={noisy}",
                           "--data.patch_size=48", "--data.val_fraction=0.0",
                           "--data.stride=16", "--trainer.limit_train_batches=null", "--trainer.limit_val_batches=2",
                           "--trainer.max_epochs=12", "--data.blindspot.fraction=0.05", "--data.synthetic.patches_per_epoch=16",
                           "--data.synthetic.val_patches=4", "--data.batch_size=8", "--trainer.logger=false",
                           "--model.optimizer.init_args.lr=0.003", f"--trainer.default_root_dir={tmp_path / 'adapt'}")
    os.environ.pop("SEISFUSE_RUN_DIR", None)
    assert code == 0, err
    after = error_of(tmp_path / "adapt" / "checkpoints" / "last.ckpt")
    assert load_fuser(tmp_path / "adapt" / "checkpoints" / "last.ckpt").settings == load_fuser(start).settings
    # 12 epochs with 5% hidden pixels: a 4-channel net left the identity plateau in each of two start models tried
    # (+4.7 and +2.8 dB); 6 epochs at 1% stayed on it for one of them
    assert after > before + 1.0, f"PSNR to the held-back clean line: {before:.2f} dB before, {after:.2f} dB after"


# ---------------------------------------------------------------- noisier patches (Noisier2Noise)
def test_noisier_patches_add_noise_like_the_files_own_and_keep_the_patch_as_target(tmp_path):
    from seisfuse.data import SeismicDataModule
    from seisfuse.data.noisier import draw_noise, noise_psd
    from seisfuse.errors import SettingError

    rng = np.random.default_rng(9)
    clean = 0.5 + 0.2 * np.sin(np.linspace(0, 60, 400))[:, None] * np.ones((1, 90))
    for sigma in (0.02, 0.06):
        psd = noise_psd([clean + sigma * rng.standard_normal(clean.shape)])
        assert draw_noise((256, 64), psd, 1.0, rng).std() == pytest.approx(sigma, rel=0.1)
    src = synth_segy(tmp_path / "line.sgy", inlines=1, crosslines=96, samples=96, noise=0.5, seed=10)
    dm = SeismicDataModule(files=[str(src)], noisier={"ratio": 1.0}, patch_size=48, stride=24, val_fraction=0.0,
                           batch_size=4, num_workers=0)
    dm.setup("fit")
    item = dm.train_dataset()[0]
    assert set(item) >= {"raw", "edge", "clean", "clean_edge", "target", "mask", "has_clean"}
    assert not item["has_clean"] and torch.equal(item["clean"], item["target"])
    extra = (item["raw"] - item["target"]).numpy()
    assert 0.5 < extra.std() / float(dm.train_dataset().psd(0)[1].mean() ** 0.5) < 2.0, "noise at the file's level"
    with pytest.raises(SettingError, match="exclude each other"):
        SeismicDataModule(files=[str(src)], noisier={}, blindspot={}, patch_size=48)
