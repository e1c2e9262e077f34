"""Fusion metrics of batches on the device (torch), for validation during training: the same formulas as
`metrics.py`'s (Qabf as VIFB's metricsQabf.m, MI in bits, EN), no copy to the CPU."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim as _torch_ssim

from seisfuse.evaluation.metrics import _H1, _H3, BINS, QABF


def ssim_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of two (B, 1, H, W) batches (data range 1, 11-px window or the largest that fits)."""
    win = min(11, *(s - (1 - s % 2) for s in x.shape[-2:]))
    return _torch_ssim(x, y, data_range=1.0, win_size=max(win, 1))


def qabf_batch(a: torch.Tensor, b: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
    """Qabf of (B, 1, H, W) batches in [0, 1], per image (B,): the formula of `qabf`, in torch on their device."""

    def strength_orientation(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = 255.0 * img.double()
        k3 = torch.as_tensor(_H3, dtype=x.dtype, device=x.device).flip(0, 1)[None, None]  # true convolution
        k1 = torch.as_tensor(_H1, dtype=x.dtype, device=x.device).flip(0, 1)[None, None]
        gx, gy = F.conv2d(x, k3, padding=1), F.conv2d(x, k1, padding=1)
        g = torch.sqrt(gx * gx + gy * gy)
        alpha = torch.where(gx == 0, torch.full_like(gx, math.pi / 2), torch.atan(gy / torch.where(gx == 0, 1.0, gx)))
        return g, alpha

    def preservation(gs: torch.Tensor, as_: torch.Tensor, gf: torch.Tensor, af: torch.Tensor) -> torch.Tensor:
        ratio = torch.where(gs > gf, gf / gs.clamp_min(1e-300), torch.where(gs == gf, gf, gs / gf.clamp_min(1e-300)))
        angle = 1.0 - (as_ - af).abs() / (math.pi / 2)
        c = QABF
        return c["Tg"] / (1.0 + torch.exp(c["kg"] * (ratio - c["Dg"]))) * c["Ta"] / (1.0 + torch.exp(c["ka"] * (angle - c["Da"])))

    (ga, aa), (gb, ab), (gf, af) = (strength_orientation(t) for t in (a, b, fused))
    num = (preservation(ga, aa, gf, af) * ga + preservation(gb, ab, gf, af) * gb).flatten(1).sum(1)
    den = (ga + gb).flatten(1).sum(1)
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(den)).float()


def _bins(x: torch.Tensor) -> torch.Tensor:
    """Bin index of every pixel of (B, ...) images in [0, 1], flattened per image (B, N)."""
    return torch.clamp(torch.floor(x.double().flatten(1) * BINS), 0, BINS - 1).long()


def entropy_batch(x: torch.Tensor) -> torch.Tensor:
    """EN of (B, 1, H, W) images (B,), bits, as `entropy`."""
    q = _bins(x)
    p = torch.zeros(q.shape[0], BINS, dtype=torch.float64, device=x.device).scatter_add_(
        1, q, torch.ones_like(q, dtype=torch.float64)) / q.shape[1]
    return -(torch.where(p > 0, p * torch.log2(p.clamp_min(1e-300)), torch.zeros_like(p))).sum(1).float()


def mutual_information_batch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MI(A, B) of (B, 1, H, W) batches (B,), bits, from 256 x 256 joint histograms, as `mutual_information`."""
    idx = _bins(a) * BINS + _bins(b)
    joint = torch.zeros(idx.shape[0], BINS * BINS, dtype=torch.float64, device=a.device).scatter_add_(
        1, idx, torch.ones_like(idx, dtype=torch.float64)).view(-1, BINS, BINS) / idx.shape[1]
    outer = joint.sum(2, keepdim=True) * joint.sum(1, keepdim=True)
    terms = torch.where(joint > 0, joint * torch.log2(joint.clamp_min(1e-300) / outer.clamp_min(1e-300)),
                        torch.zeros_like(joint))
    return terms.flatten(1).sum(1).float()


def psnr_batch(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, data range 1) of (B, 1, H, W) batches, per image (B,), the MSE floored at 1e-10."""
    mse = ((x.float() - y.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)
