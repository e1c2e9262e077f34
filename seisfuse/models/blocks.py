"""Building blocks of the fusion network: dense block, CBAM, squeeze-excitation, modulated deformable conv."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 bottleneck then BN-ReLU-3x3 producing `growth` new feature maps."""

    def __init__(self, in_channels: int, growth: int, bottleneck: int = 4) -> None:
        super().__init__()
        mid = bottleneck * growth
        self.body = nn.Sequential(
            nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True), nn.Conv2d(in_channels, mid, 1, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, growth, 3, padding=1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


class DenseBlock(nn.Module):
    """Dense block: every layer sees the concatenation of all earlier feature maps.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017 (DenseNet-BC layer:
    BN-ReLU-Conv1x1(bottleneck * growth)-BN-ReLU-Conv3x3(growth)). With `transition`, a
    BN-ReLU-1x1 conv maps the concatenation to that many channels (no pooling: resolution kept).
    """

    def __init__(self, in_channels: int, growth: int = 12, layers: int = 4, bottleneck: int = 4,
                 transition: int | None = None) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(in_channels + i * growth, growth, bottleneck) for i in range(layers))
        concat = in_channels + layers * growth
        self.transition = None if transition is None else nn.Sequential(
            nn.BatchNorm2d(concat), nn.ReLU(inplace=True), nn.Conv2d(concat, transition, 1, bias=False))
        self.out_channels = concat if transition is None else transition

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        out = torch.cat(features, dim=1)
        return out if self.transition is None else self.transition(out)


def _hidden(channels: int, reduction: int) -> int:
    """Width of an attention MLP: channels // reduction, at least 4 so small layers do not collapse."""
    return max(channels // reduction, 4)


class ChannelAttention(nn.Module):
    """CBAM channel attention: sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))) scales each channel."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = _hidden(channels, reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))

    def weights(self, x: Tensor) -> Tensor:
        """Per-channel attention in (0, 1), shape (B, C, 1, 1)."""
        return torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weights(x)


class SpatialAttention(nn.Module):
    """CBAM spatial attention: sigmoid(conv7x7([mean_c(x), max_c(x)])) scales each position."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def weights(self, x: Tensor) -> Tensor:
        """Per-position attention in (0, 1), shape (B, 1, H, W)."""
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weights(x)


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention.

    Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018.
    """

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(spatial_kernel)

    def forward(self, x: Tensor) -> Tensor:
        return self.spatial(self.channel(x))


class SEBlock(nn.Module):
    """Squeeze-and-excitation: sigmoid(MLP(avgpool(x))) scales each channel.

    Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = _hidden(channels, reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1),
                                 nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return x * self.mlp(F.adaptive_avg_pool2d(x, 1))


def load_deform_conv2d() -> bool:
    """Make torchvision's compiled `deform_conv2d` operator available as torch.ops.torchvision.deform_conv2d without
    importing the torchvision package (which pulls in torch._dynamo and sympy: ~1.5 s of every start-up): its library
    is loaded as torchvision.extension loads it (`torch.ops.load_library`). False where that layout is not found (the
    caller then imports torchvision.ops). The operator's autograd is registered by torchvision's Python package, so
    this serves inference only."""
    if _DEFORM_OP:
        return _DEFORM_OP[0]
    loaded = False
    try:
        torch.ops.torchvision.deform_conv2d  # noqa: B018 - loaded already (torchvision imported)
        loaded = True
    except (AttributeError, RuntimeError):
        import importlib.machinery
        import importlib.util
        import os

        spec = importlib.util.find_spec("torchvision")
        folder = next(iter(spec.submodule_search_locations), None) if spec and spec.submodule_search_locations else None
        candidates = [os.path.join(folder, name + suffix) for name in ("_C_stable", "_C")
                      for suffix in importlib.machinery.EXTENSION_SUFFIXES] if folder else []
        for path in (p for p in candidates if os.path.isfile(p)):
            try:
                torch.ops.load_library(path)
                torch.ops.torchvision.deform_conv2d  # noqa: B018 - it is there
                loaded = True
            except (OSError, AttributeError, RuntimeError):
                loaded = False
            break
    _DEFORM_OP.append(loaded)
    return loaded


_DEFORM_OP: list[bool] = []  # whether load_deform_conv2d found the operator (once per process)


class DeformConvBlock(nn.Module):
    """Modulated deformable convolution (DCNv2) on `torchvision.ops.deform_conv2d`.

    Zhu et al., "Deformable ConvNets v2: More Deformable, Better Results", CVPR 2019.
    A plain conv predicts, per position, 2*K offsets (torchvision's layout: (dy, dx) pairs
    per kernel tap and offset group) and K modulation scalars (sigmoid). Its weight and bias
    start at zero, so at initialisation the block is the plain convolution with every tap
    modulated by 0.5. `offset_parameters()` go in their own optimizer group.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, offset_groups: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        if in_channels % offset_groups:
            raise ValueError(f"in_channels {in_channels} not divisible by offset_groups {offset_groups}")
        self.kernel_size = kernel_size
        self.offset_groups = offset_groups
        taps = offset_groups * kernel_size * kernel_size
        self.offset_conv = nn.Conv2d(in_channels, 3 * taps, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def offsets_and_mask(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Sampling offsets (B, 2K, H, W) and modulation mask in (0, 1) (B, K, H, W)."""
        out = self.offset_conv(x)
        taps = self.offset_groups * self.kernel_size * self.kernel_size
        return out[:, : 2 * taps], torch.sigmoid(out[:, 2 * taps:])

    def offset_parameters(self) -> list[nn.Parameter]:
        """Parameters of the offset / mask predictor (trained with a smaller learning rate)."""
        return list(self.offset_conv.parameters())

    def forward(self, x: Tensor) -> Tensor:
        offset, mask = self.offsets_and_mask(x)
        pad = self.kernel_size // 2
        # in float32 on every device, as torchvision's CUDA autocast does (its CPU kernel has no bfloat16)
        with torch.autocast(device_type=x.device.type, enabled=False):
            x, offset, mask, weight = x.float(), offset.float(), mask.float(), self.weight.float()
            bias = self.bias.float() if self.bias is not None else weight.new_zeros(weight.shape[0])
            if torch.is_grad_enabled() or not load_deform_conv2d():  # training: torchvision's autograd with it
                from torchvision.ops import deform_conv2d

                out = deform_conv2d(x, offset, weight, bias, padding=(pad, pad), mask=mask)
            else:  # inference: the compiled operator alone (importing torchvision costs ~1.5 s of start-up)
                out = torch.ops.torchvision.deform_conv2d(x, weight, offset, mask, bias, 1, 1, pad, pad, 1, 1, 1,
                                                          self.offset_groups, True)
        return out.to(x.dtype)


class NoiseLevel(nn.Module):
    """Noise-level maps estimated from the noisy input itself, as extra input channels (FFDNet's noise map).

    Zhang, Zuo & Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN based Image Denoising",
    IEEE TIP 2018, feed a noise-level map beside the image so that one network adapts its strength;
    here the level is estimated per image, never given, by the robust median rule (Donoho &
    Johnstone 1994: sigma = median |d| / 0.6745) on three kinds of differences d, whose ratios also
    tell the noise's colour: the finest diagonal Haar detail (white noise), adjacent traces (noise
    independent between traces, of any temporal band) and adjacent samples. Exact zeros (dead traces,
    padding) are left out of the medians. Returns the (B, 3) levels (constant maps: expand them); they
    are estimates of the data, so no gradient flows through them.
    """

    channels = 3

    @staticmethod
    def _level(d: Tensor) -> Tensor:
        """median(|d|) / 0.6745 per image of (B, ...) differences, zeros excluded (0 when all are zero)."""
        a = d.abs().flatten(1)
        if a.shape[1] == 0:  # a section one sample or one trace wide has no such differences
            return a.new_zeros(a.shape[0])
        a = torch.where(a > 0, a, torch.full_like(a, float("nan")))
        # 0.6745 as trained (noise_estimate.MAD_TO_SIGMA rounded): changing it would shift the shipped model
        return torch.nan_to_num(a.nanmedian(dim=1).values, nan=0.0) / 0.6745

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        x = x.float()
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        q = x[..., :h, :w]
        diag = 0.5 * (q[..., 0::2, 0::2] - q[..., 0::2, 1::2] - q[..., 1::2, 0::2] + q[..., 1::2, 1::2])
        traces = (x[..., :, 1:] - x[..., :, :-1]) * (0.5 ** 0.5)
        samples = (x[..., 1:, :] - x[..., :-1, :]) * (0.5 ** 0.5)
        return torch.stack([self._level(d) for d in (diag, traces, samples)], dim=1)


#: Attention modules by name, built by :func:`create_attn` (as timm's `create_attn`).
ATTENTIONS = {"cbam": CBAM, "se": SEBlock, "none": None}


def create_attn(name: str, channels: int, reduction: int = 16) -> nn.Module:
    """The attention module of a name ('cbam', 'se' or 'none': identity) for a feature map of `channels`."""
    if name not in ATTENTIONS:
        raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {name!r}")
    cls = ATTENTIONS[name]
    return nn.Identity() if cls is None else cls(channels, reduction)
