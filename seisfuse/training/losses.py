"""FusionLoss: weighted SSIM + MS-SSIM + L1 (+ optional gradient) of the fused section against references.

    L = w_ssim   * sum_s a_s (1 - SSIM(F, s))
      + w_msssim * sum_s a_s (1 - MS-SSIM(F, s))
      + w_l1     * mean(W |F - s_raw|)
      + w_grad   * mean(W G)                                           (off by default)

With `reference: sources` (DenseFuse-style, unsupervised) the references s are the two
inputs, raw and edge, and G = | |grad F| - max(|grad raw|, |grad edge|) |. With
`reference: clean` (as Text-IF, Yi et al., CVPR 2024, trains on degraded inputs) the
references are noise-free: the clean section and the edge branch computed from it, and
G = |d/dx F - d/dx clean| + |d/dy F - d/dy clean| keeps faults and horizons as sharp as
in the clean section. W = 1 + w_fault * (fault mask dilated by 2 pixels) raises the
weight of the L1 and gradient terms near faults when the batch carries a fault mask
(synthetic data), and is 1 otherwise.

With `reference: blindspot` (Noise2Void, Krull et al., CVPR 2019; `seisfuse.data.blindspot`) the
items of real files carry a few hidden pixels, and their loss is
w_blindspot * mean over hidden pixels of (F - noisy)^2; the items with clean references in the
same batch (synthetic anchors) take the `clean` loss above, so the network adapts to a survey
without drifting from what it knows. The source weights a_s are fixed (`a_raw`, `a_edge`) or, with
`source_weights: adaptive`, proportional to each source's mean gradient magnitude per
sample (saliency; detached). SSIM and MS-SSIM come from pytorch-msssim (Wang et al.
2003/2004) with data_range 1; the MS-SSIM window is fitted to the patch size, since
pytorch-msssim needs the smaller side > (window - 1) * 16. All terms are computed in
float32, outside autocast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim
from torch import Tensor, nn

from seisfuse.config import from_mapping

MAX_WINDOW = 11
REFERENCES = ("sources", "clean", "blindspot")
MSSSIM_DOWNSAMPLE = 16  # pytorch-msssim's size rule: smaller side > (win - 1) * 16


def fit_msssim_window(patch_size: int, max_window: int = MAX_WINDOW) -> int:
    """Largest odd Gaussian window (<= max_window) that MS-SSIM accepts for this patch size."""
    win = max_window if max_window % 2 else max_window - 1
    while win >= 3 and not patch_size > (win - 1) * MSSSIM_DOWNSAMPLE:
        win -= 2
    if win < 3:
        raise ValueError(f"patch size {patch_size} is too small for MS-SSIM (needs > {2 * MSSSIM_DOWNSAMPLE} px with "
                         f"the smallest 3-px window); use patch_size >= {2 * MSSSIM_DOWNSAMPLE + 1} or loss.w_msssim: 0")
    return win


@dataclass
class LossConfig:
    """Weights of the loss terms and of the two sources."""

    w_ssim: float = 1.0
    w_msssim: float = 1.0
    w_l1: float = 0.5
    w_grad: float = 0.0
    w_fault: float = 0.0  # extra weight of the L1 and gradient terms on (dilated) fault pixels
    reference: str = "sources"  # sources | clean | blindspot
    w_blindspot: float = 20.0  # weight of the hidden-pixel MSE (reference: blindspot; MSE on [0, 1] is small)
    source_weights: str = "fixed"  # fixed | adaptive
    a_raw: float = 0.5
    a_edge: float = 0.5
    ssim_window: int = MAX_WINDOW

    def __post_init__(self) -> None:
        if self.reference not in REFERENCES:
            raise ValueError(f"loss.reference must be one of {', '.join(REFERENCES)}, got {self.reference!r}")
        if self.source_weights not in ("fixed", "adaptive"):
            raise ValueError(f"loss.source_weights must be 'fixed' or 'adaptive', got {self.source_weights!r}")
        for name in ("w_ssim", "w_msssim", "w_l1", "w_grad", "w_fault", "w_blindspot", "a_raw", "a_edge"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        if self.ssim_window < 3 or self.ssim_window % 2 == 0:
            raise ValueError(f"loss.ssim_window must be odd and >= 3, got {self.ssim_window}")

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LossConfig:
        """Build from a mapping, rejecting unknown keys with the list of valid ones."""
        return from_mapping(cls, d, "loss")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for checkpoints and W&B."""
        return asdict(self)


def sobel(x: Tensor) -> tuple[Tensor, Tensor]:
    """Sobel derivatives (d/dx, d/dy) of (B, 1, H, W) images, replicated borders."""
    kx = x.new_tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3)
    xp = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(xp, kx), F.conv2d(xp, kx.transpose(2, 3))


def gradient_magnitude(x: Tensor) -> Tensor:
    """Sobel gradient magnitude of (B, 1, H, W) images, replicated borders."""
    gx, gy = sobel(x)
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


class FusionLoss(nn.Module):
    """The training objective; forward returns (total, components) with components for logging."""

    def __init__(self, config: LossConfig | dict[str, Any] | None = None, patch_size: int = 128) -> None:
        super().__init__()
        cfg = config if isinstance(config, LossConfig) else LossConfig.from_dict(config)
        self.config = cfg
        if patch_size < cfg.ssim_window:
            raise ValueError(f"patch size {patch_size} is smaller than the SSIM window {cfg.ssim_window}")
        self.msssim_window = fit_msssim_window(patch_size) if cfg.w_msssim > 0 else None

    def part_names(self) -> tuple[str, ...]:
        """The loss parts every batch reports (logged per epoch): the total and each weighted term."""
        cfg = self.config
        terms = [name for name, w in (("ssim", cfg.w_ssim), ("msssim", cfg.w_msssim), ("l1", cfg.w_l1),
                                      ("grad", cfg.w_grad)) if w > 0]
        return ("loss", *terms, *(("blindspot",) if cfg.reference == "blindspot" else ()))

    def source_weights(self, raw: Tensor, edge: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample weights (B,) of raw and edge."""
        cfg = self.config
        if cfg.source_weights == "fixed":
            ones = raw.new_ones(raw.shape[0])
            return ones * cfg.a_raw, ones * cfg.a_edge
        with torch.no_grad():
            g_raw = gradient_magnitude(raw).mean(dim=(1, 2, 3))
            g_edge = gradient_magnitude(edge).mean(dim=(1, 2, 3))
            total = (g_raw + g_edge).clamp_min(1e-8)
        return g_raw / total, g_edge / total

    def forward(self, fused: Tensor, raw: Tensor, edge: Tensor, clean: Tensor | None = None,
                clean_edge: Tensor | None = None, fault: Tensor | None = None, target: Tensor | None = None,
                mask: Tensor | None = None, has_clean: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """(total, components); with reference clean, clean and clean_edge are required; with blindspot, target and
        mask (and has_clean for the items scored against clean references)."""
        if self.config.reference != "blindspot":
            return self._against(self.config.reference, fused, raw, edge, clean, clean_edge, fault)
        if target is None or mask is None:
            raise ValueError("loss.reference is blindspot, but the batch has no hidden pixels (set data.blindspot)")
        with torch.autocast(device_type=fused.device.type, enabled=False):
            f = fused.float()
            n = f.shape[0]
            keep = has_clean.bool() if has_clean is not None else torch.zeros(n, dtype=torch.bool, device=f.device)
            total, parts = f.new_zeros(()), {}
            if bool(keep.any()):
                sub = [t[keep] if t is not None else None for t in (raw, edge, clean, clean_edge, fault)]
                term, parts = self._against("clean", f[keep], *sub)
                total = total + term * keep.float().mean()
            hidden = mask.float() > 0.5
            if bool(hidden.any()):
                mse = ((f - target.float()) ** 2)[hidden].mean()
                parts["blindspot"] = mse.detach()
                total = total + self.config.w_blindspot * mse * (~keep).float().mean()
            parts["loss"] = total.detach()
        return total, parts

    def _against(self, reference: str, fused: Tensor, raw: Tensor, edge: Tensor, clean: Tensor | None,
                 clean_edge: Tensor | None, fault: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        """The SSIM + MS-SSIM + L1 (+ gradient) loss against the sources or the clean references."""
        cfg = self.config
        device_type = fused.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            f, r, e = fused.float(), raw.float(), edge.float()
            if reference == "clean":
                if clean is None or clean_edge is None:
                    raise ValueError("loss.reference is clean, but the batch has no clean references "
                                     "(train on synthetic data, or use reference: sources)")
                refs = clean.float(), clean_edge.float()
            else:
                refs = r, e
            a_raw, a_edge = self.source_weights(r, e)
            weight = 1.0
            if cfg.w_fault > 0 and fault is not None:
                weight = 1.0 + cfg.w_fault * F.max_pool2d(fault.float(), 5, stride=1, padding=2)
            parts: dict[str, Tensor] = {}
            total = f.new_zeros(())
            for name, fn, w, window in (("ssim", ssim, cfg.w_ssim, cfg.ssim_window),
                                        ("msssim", ms_ssim, cfg.w_msssim, self.msssim_window)):
                if w <= 0:
                    continue
                s_raw = fn(f, refs[0], data_range=1.0, size_average=False, win_size=window)
                s_edge = fn(f, refs[1], data_range=1.0, size_average=False, win_size=window)
                term = (a_raw * (1 - s_raw) + a_edge * (1 - s_edge)).mean()
                parts.update({f"{name}_raw": s_raw.mean().detach(), f"{name}_edge": s_edge.mean().detach(),
                              name: term.detach()})
                total = total + w * term
            if cfg.w_l1 > 0:
                term = (weight * (f - refs[0]).abs()).mean()
                parts["l1"] = term.detach()
                total = total + cfg.w_l1 * term
            if cfg.w_grad > 0:
                if reference == "clean":
                    (fx, fy), (cx, cy) = sobel(f), sobel(refs[0])
                    g = (fx - cx).abs() + (fy - cy).abs()
                else:
                    g = (gradient_magnitude(f) - torch.maximum(gradient_magnitude(r), gradient_magnitude(e))).abs()
                term = (weight * g).mean()
                parts["grad"] = term.detach()
                total = total + cfg.w_grad * term
            parts["loss"] = total.detach()
        return total, parts
