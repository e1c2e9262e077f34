"""Blocks, FusionNet and its ablation switches, on tiny tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

from seisfuse.models import FusionConfig, FusionNet
from seisfuse.models.blocks import CBAM, ChannelAttention, DeformConvBlock, DenseBlock, SEBlock, SpatialAttention

torch.manual_seed(0)
TINY = {"base_channels": 4, "growth": 4, "dense_layers": 2, "bottleneck": 2, "deform_channels": 4,
        "decoder_channels": [4]}


def test_dense_block_concatenates_and_transitions():
    block = DenseBlock(5, growth=3, layers=4)
    x = torch.randn(2, 5, 9, 7)
    y = block(x)
    assert y.shape == (2, 5 + 4 * 3, 9, 7) and block.out_channels == 17
    assert torch.equal(y[:, :5], x), "a dense block passes its input through unchanged"
    t = DenseBlock(5, growth=3, layers=2, transition=6)
    assert t(x).shape == (2, 6, 9, 7)


def test_cbam_attention_is_bounded_and_keeps_shape():
    x = torch.randn(3, 8, 11, 13)
    cbam = CBAM(8, reduction=16)
    assert cbam.channel.mlp[0].out_channels == 4, "hidden width never below 4"
    cw = ChannelAttention(8).weights(x)
    sw = SpatialAttention().weights(x)
    assert cw.shape == (3, 8, 1, 1) and sw.shape == (3, 1, 11, 13)
    assert (cw > 0).all() and (cw < 1).all() and (sw > 0).all() and (sw < 1).all()
    y = cbam(x)
    assert y.shape == x.shape and (y.abs() <= x.abs() + 1e-7).all()
    se = SEBlock(8)
    assert (se(x).abs() <= x.abs() + 1e-7).all()


def test_deform_block_at_init_is_plain_conv_at_half_gain():
    block = DeformConvBlock(6, 5, kernel_size=3)
    x = torch.randn(2, 6, 10, 12)
    plain = F.conv2d(x, block.weight, None, padding=1) * 0.5 + block.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(block(x), plain, atol=1e-5, rtol=1e-5)


def test_deform_block_follows_torchvision_layout_with_offsets():
    block = DeformConvBlock(4, 3, kernel_size=3)
    with torch.no_grad():
        block.offset_conv.bias.normal_(0, 0.7)  # offsets away from 0
        block.offset_conv.weight.normal_(0, 0.05)
    x = torch.randn(1, 4, 8, 9, requires_grad=True)
    offset, mask = block.offsets_and_mask(x)
    assert offset.shape == (1, 18, 8, 9) and mask.shape == (1, 9, 8, 9)
    ref = deform_conv2d(x, offset, block.weight, block.bias, padding=(1, 1), mask=mask)
    torch.testing.assert_close(block(x), ref)
    block(x).sum().backward()
    assert block.offset_conv.weight.grad.abs().sum() > 0, "offsets get gradients"


def test_bf16_autocast_on_cpu_runs_and_stays_close():
    net = FusionNet(TINY).eval()
    with torch.no_grad():  # leave the skip image so the decoder matters
        net.head.weight.normal_(0, 0.1)
    raw, edge = torch.rand(2, 1, 24, 20), torch.rand(2, 1, 24, 20)
    with torch.no_grad():
        ref = net(torch.cat([raw, edge], 1))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(torch.cat([raw, edge], 1))
    assert out.shape == ref.shape and float((out.float() - ref).abs().max()) < 0.05


HALF_RES = {"scale": 2, "levels": 2, "fused_channels": 6, "level_channels": 8, "level_blocks": 1}
#: the shipped layout in miniature: two coarser levels, noise-level inputs, a full-resolution refinement
V2 = {**HALF_RES, "levels": 3, "deep_channels": 8, "noise_level": True, "refine": 4, "border": 4}


def test_reflect_pad_reflects_again_beyond_the_image_like_numpy_symmetric():
    from seisfuse.models.fusion import reflect_pad

    x = torch.arange(12.0).view(1, 1, 3, 4)
    out = reflect_pad(x, 9, 2, 5, 0)
    ref = np.pad(x[0, 0].numpy(), ((5, 0), (9, 2)), mode="reflect")
    assert out.shape[-2:] == ref.shape
    np.testing.assert_array_equal(out[0, 0].numpy(), ref)


@pytest.mark.parametrize("layout", [{}, HALF_RES, {"scale": 2}, {"levels": 2}, {**HALF_RES, "border": 6}, V2],
                         ids=["full", "half+level", "half", "level", "border", "v2"])
@pytest.mark.parametrize("shape", [(75, 18), (1, 1), (5, 64), (33, 31), (2, 3)])
def test_fusion_net_any_size(shape, layout):
    net = FusionNet({**TINY, **layout}).eval()
    raw, edge = torch.rand(2, 1, *shape), torch.rand(2, 1, *shape)
    out = net(torch.cat([raw, edge], 1))
    assert out.shape == (2, 1, *shape) and (out >= 0).all() and (out <= 1).all()


@pytest.mark.parametrize("layout", [{}, HALF_RES, {**HALF_RES, "border": 5}, V2], ids=["full", "half+level", "border", "v2"])
def test_untrained_net_outputs_its_skip_image(layout):
    raw, edge = torch.rand(2, 1, 15, 13), torch.rand(2, 1, 15, 13)
    net = FusionNet({**TINY, **layout, "skip": "average"}).eval()
    torch.testing.assert_close(net(torch.cat([raw, edge], 1)), (0.5 * (raw + edge)).clamp(1e-4, 1 - 1e-4), atol=1e-6, rtol=0)
    net = FusionNet({**TINY, **layout, "skip": "raw"}).eval()
    torch.testing.assert_close(net(torch.cat([raw, edge], 1)), raw.clamp(1e-4, 1 - 1e-4), atol=1e-6, rtol=0)


@pytest.mark.parametrize("cfg", [{}, {"fusion": "add"}, {"fusion": "l1"}, {"fusion": "asff"}, {"attention": "se"},
                                 {"attention": "none", "deform": False, "dense": False}, {"shared_encoder": True},
                                 {"skip": "none"}, HALF_RES, {**HALF_RES, "deform": False, "attention": "se"}, V2])
def test_gradients_reach_every_parameter(cfg):
    torch.manual_seed(0)  # independent of which tests ran before
    net = FusionNet({**TINY, **cfg})
    net.train()
    raw, edge = torch.rand(2, 1, 20, 17), torch.rand(2, 1, 20, 17)
    target = torch.rand(2, 1, 20, 17)
    # one step off the zero-initialised head first, so gradients flow into the whole network
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        F.mse_loss(net(torch.cat([raw, edge], 1)), target).backward()
        opt.step()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("cfg", [{}, {"shared_encoder": True}, {"fusion": "asff"}, {"fusion": "l1"}, {"fusion": "add"},
                                 {**V2, "skip": "mix"}], ids=["concat", "shared", "asff", "l1", "add", "v2-mix"])
def test_any_number_of_branches(cfg):
    net = FusionNet({**TINY, **cfg, "inputs": 5}).eval()
    x = torch.rand(2, 5, 19, 23)
    out = net(x)
    assert out.shape == (2, 1, 19, 23) and (out >= 0).all() and (out <= 1).all()
    with pytest.raises(ValueError, match=r"\(B, 5, H, W\) stack of its 5 branches"):
        net(torch.rand(2, 2, 19, 23))
    encoders = 1 if cfg.get("shared_encoder") else 5
    assert len(net.encoders) == encoders


def test_mix_starts_at_the_branches_average_and_learns_to_pick_one():
    torch.manual_seed(0)
    net = FusionNet({**TINY, "inputs": 3, "skip": "mix"})
    x = torch.rand(4, 3, 16, 16) * 0.8 + 0.1
    torch.testing.assert_close(net.eval()(x), x.mean(1, keepdim=True), atol=1e-5, rtol=0)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(150):  # the best branch is the third everywhere: the mixing weights find it
        opt.zero_grad()
        F.l1_loss(net(x), x[:, 2:3]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        err = float((net(x) - x[:, 2:3]).abs().mean())
    assert err < 0.25 * float((x.mean(1, keepdim=True) - x[:, 2:3]).abs().mean())


def test_weights_saved_before_branch_lists_load_unchanged():
    from seisfuse.models.fusion import FusionConfig

    for cfg in ({**TINY, "fusion": "asff"}, {**TINY, "shared_encoder": True}):
        net = FusionNet(FusionConfig(**cfg)).eval()
        old = {}
        for key, value in net.state_dict().items():  # the names of the two-encoder network
            key = key.replace("encoders.0.", "encoder_raw.").replace("encoders.1.", "encoder_edge.")
            old[key.replace("rule.scores.0.", "rule.score_a.").replace("rule.scores.1.", "rule.score_b.")] = value
        if cfg.get("shared_encoder"):  # a shared module appeared under both names
            old.update({k.replace("encoder_raw.", "encoder_edge."): v for k, v in old.items() if "encoder_raw." in k})
        again = FusionNet(FusionConfig(**cfg))
        again.load_state_dict(FusionNet.upgrade_state_dict(old))
        x = torch.rand(1, 2, 12, 12)
        torch.testing.assert_close(again.eval()(x), net(x))


def test_ablation_switches_change_the_parameter_count():
    counts = {k: FusionNet({**TINY, **v}).n_parameters() for k, v in {
        "full": {}, "no_dense": {"dense": False}, "no_cbam": {"attention": "none"},
        "no_dcn": {"deform": False}, "add": {"fusion": "add"}, "shared": {"shared_encoder": True}}.items()}
    assert len(set(counts.values())) == len(counts), counts
    assert counts["shared"] < counts["full"] and counts["no_cbam"] < counts["full"]


def test_half_resolution_layout_is_cheaper_and_keeps_the_dcn_off_full_resolution():
    full, half = FusionNet({**TINY, "deform_channels": 8}), FusionNet({**TINY, **HALF_RES, "deform_channels": 8})
    x = torch.rand(1, 2, 64, 64)
    seen = {}

    def hook(module, inputs, output):
        seen[id(module)] = inputs[0].shape[-2:]

    for net in (full, half):
        for m in net.modules():
            if isinstance(m, DeformConvBlock):
                m.register_forward_hook(hook)
        net.eval()(x)
    sizes = sorted(tuple(v) for v in seen.values())
    assert sizes == [(16, 16), (64, 64)], "the DCN runs at a quarter of the resolution in the half-res layout"
    with pytest.raises(ValueError, match="scale must be 1 or 2"):
        FusionConfig(scale=4)


def test_offset_group_is_separate():
    net = FusionNet(TINY)
    groups = net.param_groups()
    assert groups["offset"] and all(p.shape[0] == 27 for p in groups["offset"])
    assert len(groups["base"]) + len(groups["offset"]) == len(list(net.parameters()))
    assert not FusionNet({**TINY, "deform": False}).param_groups()["offset"]


def test_config_validation_lists_valid_values():
    with pytest.raises(ValueError, match="fusion must be one of concat, add, l1, asff"):
        FusionConfig(fusion="max")
    with pytest.raises(ValueError, match="unknown net option widht"):
        FusionConfig.from_dict({"widht": 3})
    assert FusionConfig.from_dict(FusionConfig().to_dict()) == FusionConfig()


def test_noise_level_matches_scikit_image_and_tells_white_from_trace_independent_band_noise():
    from scipy.signal import butter, sosfiltfilt
    from skimage.restoration import estimate_sigma

    from seisfuse.models.blocks import NoiseLevel

    rng = np.random.default_rng(3)
    t = np.linspace(0, 1, 128)[:, None]
    signal = 0.5 + 0.2 * np.sin(2 * np.pi * 12 * t) * np.ones((1, 96))  # laterally continuous reflectors
    white = signal + 0.05 * rng.standard_normal(signal.shape)
    levels = NoiseLevel()(torch.from_numpy(white).float()[None, None])[0].numpy()
    assert levels[0] == pytest.approx(estimate_sigma(white), rel=0.1) and levels[0] == pytest.approx(0.05, rel=0.1)
    assert levels[1] == pytest.approx(0.05, rel=0.15), "adjacent traces see all of trace-independent noise"
    band = sosfiltfilt(butter(4, [0.05, 0.2], btype="band", output="sos"), rng.standard_normal(signal.shape), axis=0)
    noisy = signal + 0.05 * band / band.std()
    diag, traces, _ = NoiseLevel()(torch.from_numpy(noisy).float()[None, None])[0].numpy()
    assert traces > 3 * diag, "band-limited noise: the finest (white) detail misses most of it, trace differences do not"
    dead = torch.from_numpy(white).float()[None, None].clone()
    dead[..., :, ::2] = 0
    assert float(NoiseLevel()(dead)[0, 0]) > 0, "zeros (dead traces, padding) are left out of the medians"


def test_inference_uses_the_compiled_operator_alone_with_the_same_numbers():
    import subprocess
    import sys

    code = ("import sys, torch\n"
            "from seisfuse.models.blocks import DeformConvBlock\n"
            "torch.manual_seed(0)\n"
            "b = DeformConvBlock(4, 4, 3, 2).eval()\n"
            "torch.nn.init.normal_(b.offset_conv.weight, std=0.1)\n"
            "x = torch.randn(2, 4, 9, 11)\n"
            "with torch.inference_mode():\n"
            "    y = b(x)\n"
            "assert 'torchvision' not in sys.modules, 'the package was imported'\n"
            "from torchvision.ops import deform_conv2d\n"
            "off, mask = b.offsets_and_mask(x)\n"
            "ref = deform_conv2d(x, off, b.weight, b.bias, padding=(1, 1), mask=mask)\n"
            "assert torch.equal(y, ref), (y - ref).abs().max()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
