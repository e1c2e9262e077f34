"""FusionLoss, the fusion metrics against known answers and independent references, and the baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from sklearn.metrics import mutual_info_score

from seisfuse.evaluation import metrics as m
from seisfuse.models.classical import CLASSICAL_FUSIONS as BASELINES
from seisfuse.models.classical import average, laplacian_pyramid, wavelet
from seisfuse.training.losses import FusionLoss, LossConfig, fit_msssim_window

RNG = np.random.default_rng(0)


def smooth(shape=(64, 72), seed=0) -> np.ndarray:
    yy, xx = np.mgrid[0: shape[0], 0: shape[1]]
    r = np.random.default_rng(seed)
    img = 0.5 + 0.3 * np.sin(xx / r.uniform(3, 6) + yy / r.uniform(5, 9)) + 0.05 * r.standard_normal(shape)
    return np.clip(img, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- loss
def test_msssim_window_fitted_to_patch():
    assert fit_msssim_window(128) == 7
    assert fit_msssim_window(256) == 11
    assert fit_msssim_window(64) == 3
    with pytest.raises(ValueError, match="too small for MS-SSIM"):
        fit_msssim_window(32)
    with pytest.raises(ValueError, match="too small"):
        FusionLoss({}, patch_size=24)
    FusionLoss({"w_msssim": 0}, patch_size=24)  # fine without the MS-SSIM term


def test_loss_is_zero_for_fused_equal_to_single_source():
    raw = torch.rand(3, 1, 64, 64)
    edge = torch.rand(3, 1, 64, 64)
    loss = FusionLoss({"a_raw": 1.0, "a_edge": 0.0}, patch_size=64)
    total, parts = loss(raw.clone(), raw, edge)
    assert float(total) == pytest.approx(0.0, abs=1e-5)
    assert float(parts["ssim_raw"]) == pytest.approx(1.0, abs=1e-6)
    total_other, _ = loss(edge.clone(), raw, edge)
    assert float(total_other) > 0.5


def test_loss_components_and_gradient():
    raw, edge = torch.rand(2, 1, 48, 48), torch.rand(2, 1, 48, 48)
    fused = torch.rand(2, 1, 48, 48, requires_grad=True)
    cfg = LossConfig(w_ssim=1, w_msssim=0.5, w_l1=2, w_grad=1, source_weights="adaptive")
    total, parts = FusionLoss(cfg, patch_size=48)(fused, raw, edge)
    assert {"ssim", "msssim", "l1", "grad", "loss", "ssim_raw", "msssim_edge"} <= set(parts)
    expected = parts["ssim"] + 0.5 * parts["msssim"] + 2 * parts["l1"] + parts["grad"]
    assert float(total.detach()) == pytest.approx(float(expected), rel=1e-5)
    total.backward()
    assert fused.grad.abs().sum() > 0


def test_adaptive_weights_follow_gradient_saliency():
    flat = torch.full((1, 1, 40, 40), 0.5)
    busy = torch.rand(1, 1, 40, 40)
    a_raw, a_edge = FusionLoss({"source_weights": "adaptive"}, patch_size=40).source_weights(flat, busy)
    assert float(a_raw) < 0.01 and float(a_edge) > 0.99 and float(a_raw + a_edge) == pytest.approx(1.0)


def test_loss_runs_in_fp32_under_autocast():
    raw, edge = torch.rand(2, 1, 40, 40), torch.rand(2, 1, 40, 40)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, _ = FusionLoss({}, patch_size=40)(raw.bfloat16(), raw, edge)
    assert total.dtype == torch.float32


def test_clean_reference_compares_with_noise_free_sections_not_the_inputs():
    clean = torch.rand(2, 1, 64, 64)
    raw, edge = clean + 0.2 * torch.randn_like(clean), torch.rand(2, 1, 64, 64)
    clean_edge = torch.rand(2, 1, 64, 64)
    loss = FusionLoss({"reference": "clean", "a_raw": 1.0, "a_edge": 0.0, "w_grad": 1.0}, patch_size=64)
    total, parts = loss(clean.clone(), raw, edge, clean=clean, clean_edge=clean_edge)
    assert float(total) == pytest.approx(0.0, abs=1e-5) and float(parts["grad"]) == pytest.approx(0.0, abs=1e-6)
    noisy_total, _ = loss(raw, raw, edge, clean=clean, clean_edge=clean_edge)
    sources_total, _ = FusionLoss({"a_raw": 1.0, "a_edge": 0.0, "w_grad": 1.0}, patch_size=64)(raw, raw, edge)
    assert float(noisy_total) > 0.3 and float(sources_total) < float(noisy_total), "sources mode rewards the noise"
    with pytest.raises(ValueError, match="no clean references"):
        loss(raw, raw, edge)
    with pytest.raises(ValueError, match="reference must be"):
        LossConfig(reference="truth")


def test_fault_weight_raises_the_cost_of_errors_on_faults():
    clean = torch.zeros(1, 1, 40, 40)
    fault = torch.zeros(1, 1, 40, 40)
    fault[..., 20] = 1.0
    on, off = clean.clone(), clean.clone()
    on[..., 20] = 0.5
    off[..., 5] = 0.5
    loss = FusionLoss({"reference": "clean", "w_ssim": 0, "w_msssim": 0, "w_l1": 1.0, "w_fault": 4.0}, patch_size=40)
    cost_on = float(loss(on, clean, clean, clean=clean, clean_edge=clean, fault=fault)[0])
    cost_off = float(loss(off, clean, clean, clean=clean, clean_edge=clean, fault=fault)[0])
    assert cost_on == pytest.approx(5 * cost_off, rel=1e-5)
    assert float(loss(on, clean, clean, clean=clean, clean_edge=clean)[0]) == pytest.approx(cost_off, rel=1e-5)


def test_loss_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown loss option w_sim"):
        LossConfig.from_dict({"w_sim": 1})


# ---------------------------------------------------------------- metrics: known answers
def test_entropy_of_uniform_256_levels_is_8_bits():
    img = np.repeat(np.arange(256) / 255.0, 3).reshape(24, 32)
    assert m.entropy(img) == pytest.approx(8.0)
    assert m.entropy(np.full((10, 10), 0.3)) == 0.0


def test_mutual_information_of_an_image_with_itself_is_its_entropy():
    a = smooth()
    assert m.mutual_information(a, a) == pytest.approx(m.entropy(a))


def test_mutual_information_matches_sklearn():
    a, b = smooth(seed=1), smooth(seed=2)
    ref = mutual_info_score(m.quantize(a).ravel(), m.quantize(b).ravel()) / math.log(2)
    assert m.mutual_information(a, b) == pytest.approx(ref, rel=1e-9)
    assert m.fusion_mi(a, a, b) == pytest.approx(m.entropy(a) + ref)


def _metrics_qabf_m(img1: np.ndarray, img2: np.ndarray, fused: np.ndarray) -> float:
    """VIFB's metricsQabf.m, transliterated line by line (loops, MATLAB's conv2 'same' with zero padding)."""
    from scipy.signal import convolve2d

    L, Tg, kg, Dg, Ta, ka, Da = 1, 0.9994, -15, 0.5, 0.9879, -22, 0.8
    h1 = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], float)
    h3 = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    pA, pB, pF = (255 * np.asarray(x, float) for x in (img1, img2, fused))

    def grad(p):
        sx, sy = convolve2d(p, h3, mode="same"), convolve2d(p, h1, mode="same")
        g = np.sqrt(sx ** 2 + sy ** 2)
        a = np.zeros_like(g)
        for i in range(g.shape[0]):
            for j in range(g.shape[1]):
                a[i, j] = math.pi / 2 if sx[i, j] == 0 else math.atan(sy[i, j] / sx[i, j])
        return g, a

    (gA, aA), (gB, aB), (gF, aF) = grad(pA), grad(pB), grad(pF)

    def q(gS, aS):
        Q = np.zeros_like(gS)
        for i in range(gS.shape[0]):
            for j in range(gS.shape[1]):
                if gS[i, j] > gF[i, j]:
                    G = gF[i, j] / gS[i, j]
                elif gS[i, j] == gF[i, j]:
                    G = gF[i, j]
                else:
                    G = gS[i, j] / gF[i, j]
                A = 1 - abs(aS[i, j] - aF[i, j]) / (math.pi / 2)
                Q[i, j] = Tg / (1 + math.exp(kg * (G - Dg))) * Ta / (1 + math.exp(ka * (A - Da)))
        return Q

    assert L == 1
    return float((q(gA, aA) * gA + q(gB, aB) * gB).sum() / (gA + gB).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_qabf_matches_the_published_reference_formula(seed):
    a, b, f = smooth((24, 30), seed), smooth((24, 30), seed + 10), smooth((24, 30), seed + 20)
    b[:, :8] = 0.5  # flat areas (gx = 0) and equal strengths (gA = gF) exercise the reference's special cases
    f[:, :8] = 0.5
    for fused in (f, average(a, b), a):
        assert m.qabf(a, b, fused) == pytest.approx(_metrics_qabf_m(a, b, fused), abs=1e-6)


def test_qabf_of_identical_images_approaches_the_constant_ceiling():
    a = smooth()
    c = m.QABF
    ceiling = c["Tg"] * c["Ta"] / (1 + math.exp(c["ka"] * (1 - c["Da"])))
    assert ceiling == pytest.approx(0.9753, abs=1e-4)
    assert m.qabf(a, a, a) == pytest.approx(ceiling, abs=2e-3)
    b = smooth(seed=3)
    # the reference zero-pads: a flat image keeps only its frame of border edges
    assert m.qabf(a, b, np.full_like(a, 0.5)) < 0.2
    assert m.qabf(a, b, a) > m.qabf(a, b, np.full_like(a, 0.5))


def test_vif_snr_and_clean_reference_metrics():
    clean = smooth((48, 52), 30)
    noisy = np.clip(clean + 0.05 * RNG.standard_normal(clean.shape), 0, 1).astype(np.float32)
    assert m.vif(clean, clean) == pytest.approx(1.0, abs=1e-4)
    assert 0 < m.vif(noisy, clean) < 1 and math.isnan(m.vif(clean[:20], clean[:20]))
    assert m.snr_db(clean, clean) == math.inf
    assert m.snr_db(np.zeros(4) + 0.5, np.array([1.0, 0.0, 1.0, 0.0]) * 1.0) == pytest.approx(10 * math.log10(2 / 1))
    res = m.fusion_metrics(noisy, noisy, noisy, clean=clean, clean_edge=clean)
    assert {"SSIM_clean", "PSNR_clean", "SNR_clean", "Qabf_clean", "VIF_clean", "VIF"} <= set(res)
    better = m.fusion_metrics(clean, noisy, noisy, clean=clean, clean_edge=clean)
    assert better["Qabf_clean"] > res["Qabf_clean"] and better["SNR_clean"] == math.inf


def test_spatial_frequency_average_gradient_sd():
    assert m.spatial_frequency(np.full((8, 9), 0.7)) == 0.0
    assert m.average_gradient(np.full((8, 9), 0.7)) == 0.0
    stripes = np.tile([0.0, 1.0], (6, 5))  # columns alternate 0/1: every horizontal difference is 1
    assert m.spatial_frequency(stripes) == pytest.approx(1.0)
    assert m.average_gradient(stripes) == pytest.approx(math.sqrt(0.5))
    assert m.standard_deviation(stripes) == pytest.approx(0.5)


def test_ssim_matches_scikit_image_and_psnr():
    a, b = smooth(seed=4), smooth(seed=5)
    ref = structural_similarity(a.astype(np.float64), b.astype(np.float64), data_range=1.0, gaussian_weights=True,
                                sigma=1.5, use_sample_covariance=False, win_size=11)
    assert m.ssim(a, b) == pytest.approx(ref, abs=1e-4)
    assert m.ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    assert m.psnr(a, a) == math.inf
    assert m.psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)) == pytest.approx(20.0)


def test_scd_and_fault_contrast():
    a, b = smooth(seed=6), smooth(seed=7)
    assert m.scd(a, b, a + b) == pytest.approx(2.0)
    img = np.zeros((20, 20))
    img[:, 10:] = 1.0
    mask = np.zeros((20, 20))
    mask[:, 9:11] = 1
    assert m.fault_contrast(img, mask) == math.inf
    noisy = img + 0.01 * np.random.default_rng(0).standard_normal(img.shape)
    assert 10 < m.fault_contrast(noisy, mask) < math.inf
    assert math.isnan(m.fault_contrast(img, np.zeros((20, 20))))


def test_fusion_metrics_suite_and_no_rescaling_reward():
    raw, edge = smooth(seed=8), smooth(seed=9)
    fused = average(raw, edge)
    res = m.fusion_metrics(fused, raw, edge, clean=raw, fault_mask=(edge > 0.5), clean_edge=edge)
    assert list(res)[: len(m.SUITE)] == list(m.SUITE)
    assert set(m.REFERENCE) <= set(res)
    stretched = (fused - fused.min()) / (fused.max() - fused.min())
    assert m.fusion_metrics(stretched, raw, edge)["SD"] > res["SD"], "metrics see the image as given, not re-stretched"


# ---------------------------------------------------------------- baselines
@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_keep_shape_range_and_identity(name):
    raw, edge = smooth((37, 53), 10), smooth((37, 53), 11)
    out = BASELINES[name](raw, edge)
    assert out.shape == raw.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    np.testing.assert_allclose(BASELINES[name](raw, raw), raw, atol=1e-5)


def test_detail_baselines_keep_stronger_edges_than_average():
    raw, edge = smooth((64, 64), 12), np.zeros((64, 64), np.float32)
    edge[:, 32:] = 1.0
    base = m.qabf(raw, edge, average(raw, edge))
    assert m.qabf(raw, edge, laplacian_pyramid(raw, edge)) > base
    assert m.qabf(raw, edge, wavelet(raw, edge)) > base


def test_baselines_on_tiny_sections():
    raw, edge = smooth((3, 5), 13), smooth((3, 5), 14)
    for fn in BASELINES.values():
        assert fn(raw, edge).shape == (3, 5)


def test_classical_filters_are_one_opencv_call_with_tuned_parameters():
    import cv2

    from seisfuse.denoisers import DENOISERS
    from seisfuse.errors import SettingError
    from seisfuse.inference.fusers import classical_method as method

    tuned = {k: v.tuned for k, v in DENOISERS.items()}
    raw = smooth((40, 50), 15)
    np.testing.assert_array_equal(method("median")(raw, raw), cv2.medianBlur(raw, tuned["median"]["size"]))
    np.testing.assert_array_equal(method("gaussian", sigma=2.0)(raw, None),
                                  cv2.GaussianBlur(raw, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT_101))
    b = tuned["bilateral"]
    np.testing.assert_array_equal(method("bilateral")(raw, None),
                                  cv2.bilateralFilter(raw, b["diameter"], b["sigma_color"], b["sigma_space"]))
    with pytest.raises(SettingError, match="invalid parameters"):
        method("median", size=4)
    with pytest.raises(SettingError, match="takes no parameters"):
        method("average", sigma=1)


def test_per_pixel_metrics_in_strips_equal_the_libraries_whole_image_numbers():
    """VIF as torchmetrics computes it, SSIM as pytorch-msssim does, Qabf unstripped: the strips change nothing."""
    from pytorch_msssim import ssim as torch_ssim
    from torchmetrics.functional.image import visual_information_fidelity

    rng = np.random.default_rng(5)
    a = rng.random((2 * m.STRIP_ROWS + 37, 60))  # several strips, the last one short
    f = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    ref = float(visual_information_fidelity(torch.as_tensor(255 * f)[None, None], torch.as_tensor(255 * a)[None, None]))
    assert m.vif(f, a) == pytest.approx(ref, rel=1e-10)
    whole = float(torch_ssim(torch.as_tensor(f, dtype=torch.float32)[None, None],
                             torch.as_tensor(a, dtype=torch.float32)[None, None], data_range=1.0, win_size=11))
    assert m.ssim(f, a) == pytest.approx(whole, abs=1e-6)
    b = rng.random(a.shape)
    strips, m.STRIP_ROWS = m.STRIP_ROWS, 10_000
    try:
        unstripped = m.qabf(a, b, f)
    finally:
        m.STRIP_ROWS = strips
    assert m.qabf(a, b, f) == pytest.approx(unstripped, rel=1e-12)
