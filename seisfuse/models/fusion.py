"""FusionNet: an encoder per branch, a fusion stage (rule, attention, deformable conv) and a decoder to one section.

    raw      ──► encoder ──┐
    edge     ──► encoder ──┤
    bm3d-psd ──► encoder ──┼─► fusion rule ─► attention ─► 1x1 reduce ─► deformable conv ─► decoder ─► fused
    ...      ──► encoder ──┘   (concat | add | l1 | asff  (cbam | se | none)               (dcn | conv)
                                over the N branches)

The input is the (B, N, H, W) stack of the N branches of `seisfuse.branches` (`inputs`: N; raw
first, the fast model's two are raw and edge; the best model's add classical denoisers' estimates,
each right where its noise model holds), one encoder each, or one shared encoder (`shared_encoder`).

`scale: 2` works at half resolution: each encoder starts with a pixel-unshuffle (the
lossless space-to-depth stem of FFDNet, Zhang et al., IEEE TIP 2018) and the head ends
with a pixel-shuffle, which cuts the cost of every layer by four. `levels: 2` adds one
coarser level (a strided conv down, `level_blocks` convs, a pixel-shuffle up, joined to
the fused features as in a U-Net) and runs the deformable conv there, 1x1-narrowed to
`deform_channels`: on a CPU the deformable conv costs 50-75x a plain conv of its size,
so where it sits decides the speed. Inputs of any H x W are padded (reflected) to a
multiple of the total downsampling and cropped back; `border` adds a reflected margin first,
so that pixels near a section's edges (all of them in a section a few traces wide) see
context like the interior's, not the zero padding of every convolution. With `scale: 1, levels: 1` the
network keeps full resolution throughout (the original layout). `levels: 3` adds a second, still coarser
level (1/8 of the input with `scale: 2`, `deep_channels` wide) that holds the deformable conv, for a
receptive field that spans the lateral continuity of reflectors. `noise_level: true` feeds both
encoders three noise-level maps estimated from the raw section itself (`blocks.NoiseLevel`, FFDNet's
noise-map input), so that one network adapts its strength to each section's noise. `refine: C` adds a
full-resolution refinement (three 3x3 convs of C channels over the raw and edge sections and the
network's output, its last layer zero at the start), which restores detail the half-resolution path
cannot draw. Fusion rules over the N
branches' features: `concat` (learned), `add` and `l1` (feature addition and l1-norm activity
weighting of DenseFuse, Li & Wu, IEEE TIP 2019), `asff` (softmax spatial weights over the sources,
after Liu et al., "Learning Spatial Fusion for Single-Shot Object Detection", 2019). With
`skip: average` the decoder predicts a correction, in logit space, to the average of the branches,
and its last layer starts at zero, so an untrained net outputs the average baseline; `skip: raw`
does the same around the raw section; `skip: mix` predicts, per pixel, softmax weights over the
branches as well as the correction, so the base is a learned, spatially varying combination of the
branches (Choi, Elgendy & Chan, "Optimal combination of image denoisers", IEEE TIP 2019: a combination
can beat every member, and falls back to the best one where the others fail; an untrained net starts
at their average); `skip: none` decodes the section from scratch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seisfuse.config import from_mapping
from seisfuse.models.blocks import ATTENTIONS, DeformConvBlock, DenseBlock, NoiseLevel, create_attn

#: How the branches' features are combined (the classical rules of fused images are `classical.CLASSICAL_FUSIONS`).
FEATURE_FUSIONS = ("concat", "add", "l1", "asff")
SKIPS = ("average", "raw", "mix", "none")
_EPS = 1e-4


@dataclass
class FusionConfig:
    """Architecture of FusionNet; every component can be switched off for ablations."""

    base_channels: int = 16  # stem conv width
    dense: bool = True  # dense block in each encoder (else two plain 3x3 convs of the same output width)
    dense_layers: int = 4
    growth: int = 12
    bottleneck: int = 4
    shared_encoder: bool = False  # one encoder for both branches
    fusion: str = "concat"
    attention: str = "cbam"
    reduction: int = 8  # attention MLP reduction (hidden width is at least 4)
    deform: bool = True  # deformable conv in the fusion stage (else a plain 3x3 conv)
    deform_channels: int = 16  # width the fused features are reduced to before the (costly) deformable conv
    offset_groups: int = 1
    decoder_channels: list[int] = field(default_factory=lambda: [32, 16])
    skip: str = "average"
    scale: int = 1  # 2: pixel-unshuffle stem and pixel-shuffle head, the network works at half resolution
    levels: int = 1  # 2: a coarser U-Net level that holds the deformable conv; 3: two, the deformable conv in the deeper
    fused_channels: int | None = None  # width after the 1x1 reduce (None: deform_channels)
    level_channels: int = 48  # width of the coarser level
    level_blocks: int = 2  # 3x3 convs at the coarser level (and at the deeper one with levels 3)
    deep_channels: int = 64  # width of the deepest level with levels 3
    noise_level: bool = False  # estimated noise-level maps as extra inputs of the raw encoder (FFDNet)
    refine: int = 0  # channels of the full-resolution refinement (0: none)
    border: int = 0  # pixels of reflected margin around the input, cropped off the output
    inputs: int = 2  # branches fused (set from the branch list: seisfuse.branches)

    def __post_init__(self) -> None:
        for name, value, valid in (("fusion", self.fusion, FEATURE_FUSIONS), ("attention", self.attention, ATTENTIONS),
                                   ("skip", self.skip, SKIPS)):
            if value not in valid:
                raise ValueError(f"net.{name} must be one of {', '.join(valid)}, got {value!r}")
        for name in ("base_channels", "growth", "deform_channels", "reduction", "bottleneck", "offset_groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"net.{name} must be >= 1, got {getattr(self, name)}")
        if self.dense_layers < 0:
            raise ValueError(f"net.dense_layers must be >= 0, got {self.dense_layers}")
        if self.deform_channels % self.offset_groups:
            raise ValueError("net.deform_channels must be divisible by net.offset_groups")
        if self.scale not in (1, 2):
            raise ValueError(f"net.scale must be 1 or 2, got {self.scale}")
        if self.levels not in (1, 2, 3):
            raise ValueError(f"net.levels must be 1, 2 or 3, got {self.levels}")
        if self.refine < 0 or self.deep_channels < 1:
            raise ValueError("net.refine must be >= 0 and net.deep_channels >= 1")
        if self.border < 0:
            raise ValueError(f"net.border must be >= 0, got {self.border}")
        if self.inputs < 1:
            raise ValueError(f"net.inputs must be >= 1, got {self.inputs}")
        if self.level_channels < 1 or self.level_blocks < 0 or (self.fused_channels is not None and self.fused_channels < 1):
            raise ValueError("net.level_channels and net.fused_channels must be >= 1, net.level_blocks >= 0")

    @property
    def multiple(self) -> int:
        """Inputs are padded to a multiple of this many pixels (the total downsampling)."""
        return self.scale * 2 ** (self.levels - 1)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> FusionConfig:
        """Build from a mapping, rejecting unknown keys with the list of valid ones."""
        return from_mapping(cls, d, "net")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for checkpoints and W&B."""
        return asdict(self)


def _logit(x: Tensor) -> Tensor:
    """logit of x kept away from 0 and 1."""
    return torch.logit(x.clamp(_EPS, 1 - _EPS))


def _convs(channels: int, blocks: int) -> nn.Sequential:
    """blocks x (3x3 conv, ReLU) of a fixed width."""
    return nn.Sequential(*[m for _ in range(blocks) for m in (nn.Conv2d(channels, channels, 3, padding=1),
                                                              nn.ReLU(inplace=True))])


def reflect_pad(x: Tensor, left: int, right: int, top: int, bottom: int) -> Tensor:
    """Pad (..., H, W) by reflection, reflecting again where a side is wider than the image; one pixel: copies."""
    while left or right or top or bottom:
        h, w = x.shape[-2:]
        if h == 1 or w == 1:
            return F.pad(x, (left, right, top, bottom), mode="replicate")
        step = [min(v, (w if i < 2 else h) - 1) for i, v in enumerate((left, right, top, bottom))]
        x = F.pad(x, tuple(step), mode="reflect")
        left, right, top, bottom = (v - s for v, s in zip((left, right, top, bottom), step, strict=True))
    return x


class Encoder(nn.Module):
    """Stem 3x3 conv, then a dense block (or two plain convs of the same output width)."""

    def __init__(self, cfg: FusionConfig, extra: int = 0) -> None:
        super().__init__()
        c = cfg.base_channels
        unshuffle = [nn.PixelUnshuffle(cfg.scale)] if cfg.scale > 1 else []
        self.stem = nn.Sequential(*unshuffle, nn.Conv2d(cfg.scale ** 2 + extra, c, 3, padding=1), nn.ReLU(inplace=True))
        if cfg.dense:
            block = DenseBlock(c, cfg.growth, cfg.dense_layers, cfg.bottleneck)
            self.body, self.out_channels = block, block.out_channels
        else:
            out = c + cfg.dense_layers * cfg.growth
            self.body = nn.Sequential(nn.Conv2d(c, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                                      nn.Conv2d(out, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(inplace=True))
            self.out_channels = out

    def forward(self, x: Tensor, levels: Tensor | None = None) -> Tensor:
        """Encode x; levels (B, K) are appended as constant maps after the pixel-unshuffle."""
        for m in self.stem:
            if levels is not None and isinstance(m, nn.Conv2d):
                x = torch.cat([x, levels[:, :, None, None].to(x.dtype).expand(-1, -1, *x.shape[-2:])], dim=1)
            x = m(x)
        return self.body(x)


class FusionRule(nn.Module):
    """Combine N feature maps of C channels: concat (N C), add, l1-norm weighting or ASFF weights (C)."""

    def __init__(self, rule: str, channels: int, sources: int = 2) -> None:
        super().__init__()
        self.rule = rule
        self.out_channels = sources * channels if rule == "concat" else channels
        if rule == "asff":  # one weight head per source, as ASFF has per level (a shared head's bias would cancel)
            self.scores = nn.ModuleList(nn.Conv2d(channels, 1, 1) for _ in range(sources))

    def source_weights(self, features: list[Tensor]) -> Tensor | None:
        """Per-pixel weights of the N sources (B, N, H, W) summing to 1, for the weighting rules."""
        if self.rule == "l1":
            act = torch.stack([f.abs().sum(1) for f in features], dim=1)
            act = F.avg_pool2d(act, 3, stride=1, padding=1, count_include_pad=False)  # block-averaged activity
            return act / act.sum(dim=1, keepdim=True).clamp_min(1e-8)
        if self.rule == "asff":
            return torch.softmax(torch.cat([head(f) for head, f in zip(self.scores, features, strict=True)], 1), 1)
        return None

    def forward(self, features: list[Tensor]) -> Tensor:
        if self.rule == "concat":
            return torch.cat(features, dim=1)
        if self.rule == "add":
            return torch.stack(features).sum(0)
        w = self.source_weights(features)
        return sum(w[:, i:i + 1] * f for i, f in enumerate(features))


class FusionNet(nn.Module):
    """fused = FusionNet(branches): a (B, N, H, W) stack of branches in [0, 1], raw first -> fused (B, 1, H, W)."""

    def __init__(self, config: FusionConfig | dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = config if isinstance(config, FusionConfig) else FusionConfig.from_dict(config)
        self.config = cfg
        n = cfg.inputs
        extra = NoiseLevel.channels if cfg.noise_level else 0
        self.noise_level = NoiseLevel() if cfg.noise_level else None
        self.encoders = nn.ModuleList(Encoder(cfg, extra) for _ in range(1 if cfg.shared_encoder else n))
        c = self.encoders[0].out_channels
        self.rule = FusionRule(cfg.fusion, c, n)
        fused_c = self.rule.out_channels
        self.attention = create_attn(cfg.attention, fused_c, cfg.reduction)
        d = cfg.deform_channels
        w = cfg.fused_channels or d
        self.reduce = nn.Sequential(nn.Conv2d(fused_c, w, 1), nn.ReLU(inplace=True))
        if cfg.levels == 1:
            self.align = DeformConvBlock(w, w, 3, cfg.offset_groups) if cfg.deform else nn.Conv2d(w, w, 3, padding=1)
            prev = w
        else:
            q = cfg.level_channels
            deep = q if cfg.levels == 2 else cfg.deep_channels  # the level that holds the deformable conv
            self.down = nn.Sequential(nn.Conv2d(w, q, 3, stride=2, padding=1), nn.ReLU(inplace=True))
            dcn = DeformConvBlock(d, d, 3, cfg.offset_groups) if cfg.deform else nn.Conv2d(d, d, 3, padding=1)
            self.align = nn.Sequential(nn.Conv2d(deep, d, 1), nn.ReLU(inplace=True), dcn, nn.ReLU(inplace=True),
                                       nn.Conv2d(d, deep, 1))
            self.level = _convs(q, cfg.level_blocks)
            if cfg.levels == 3:
                self.down2 = nn.Sequential(nn.Conv2d(q, deep, 3, stride=2, padding=1), nn.ReLU(inplace=True))
                self.level2 = _convs(deep, cfg.level_blocks)
                self.up2 = nn.Sequential(nn.Conv2d(deep, 4 * q, 1), nn.PixelShuffle(2))
                self.merge = nn.Sequential(nn.Conv2d(2 * q, q, 3, padding=1), nn.ReLU(inplace=True))
            self.up = nn.Sequential(nn.Conv2d(q, 4 * w, 1), nn.PixelShuffle(2))
            prev = 2 * w
        layers: list[nn.Module] = []
        for width in cfg.decoder_channels:
            layers += [nn.Conv2d(prev, width, 3, padding=1), nn.ReLU(inplace=True)]
            prev = width
        self.decoder = nn.Sequential(*layers)
        self.outputs = 1 + (n if cfg.skip == "mix" else 0)  # the correction, then the mixing weights' logits
        self.head = nn.Conv2d(prev, self.outputs * cfg.scale ** 2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(cfg.scale) if cfg.scale > 1 else nn.Identity()
        if cfg.skip != "none":  # start exactly at the skip image
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self.refine = None
        if cfg.refine:  # full resolution: the branches and the fused section in, a correction in logit space out
            r = cfg.refine
            self.refine = nn.Sequential(nn.Conv2d(n + 1, r, 3, padding=1), nn.ReLU(inplace=True),
                                        nn.Conv2d(r, r, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(r, 1, 3, padding=1))
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.zeros_(self.refine[-1].bias)

    def _pad(self, x: Tensor) -> Tensor:
        """x with the reflected border margin, then padded at the bottom and right to the total downsampling."""
        b, m = self.config.border, self.config.multiple
        x = reflect_pad(x, b, b, b, b)
        h, w = x.shape[-2:]
        return reflect_pad(x, 0, (-w) % m, 0, (-h) % m)

    def forward(self, x: Tensor) -> Tensor:
        n = self.config.inputs
        if x.dim() != 4 or x.shape[1] != n:
            raise ValueError(f"FusionNet takes a (B, {n}, H, W) stack of its {n} branches, got {tuple(x.shape)}")
        h, w, b = x.shape[-2], x.shape[-1], self.config.border
        raw = x[:, :1]
        levels = self.noise_level(raw) if self.noise_level is not None else None
        p = self._pad(x)
        encoders = [self.encoders[0]] * n if len(self.encoders) == 1 else list(self.encoders)
        features = [enc(p[:, i:i + 1], levels) for i, enc in enumerate(encoders)]
        f = self.reduce(self.attention(self.rule(features)))
        if self.config.levels == 1:
            f = F.relu(self.align(f))
        else:
            f = torch.cat([f, self.up(self._coarse(self.down(f)))], dim=1)
        maps = self.shuffle(self.head(self.decoder(f)))[..., b:b + h, b:b + w]  # channel k of scale^2 groups
        delta = maps[:, :1]
        skip = self.config.skip
        if skip == "none":
            out = torch.sigmoid(delta)
        else:
            if skip == "average":
                base = x.mean(dim=1, keepdim=True)
            elif skip == "mix":
                base = (torch.softmax(maps[:, 1:].float(), dim=1) * x.float()).sum(dim=1, keepdim=True).to(x.dtype)
            else:
                base = raw
            out = torch.sigmoid(_logit(base) + delta)
        if self.refine is None:
            return out
        return torch.sigmoid(_logit(out) + self.refine(torch.cat([x, out.to(x.dtype)], dim=1).to(out.dtype)))

    @staticmethod
    def upgrade_state_dict(state: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights saved before branch lists (encoder_raw / encoder_edge, asff score_a / score_b) under today's
        names (encoders.0 / encoders.1, rule.scores.0 / .1); today's weights unchanged."""
        if not any(k.startswith(("encoder_raw.", "encoder_edge.")) for k in state):
            return state
        shared = all(k.replace("encoder_edge.", "encoder_raw.", 1) in state for k in state
                     if k.startswith("encoder_edge."))
        shared = shared and all(torch.equal(v, state[k.replace("encoder_edge.", "encoder_raw.", 1)])
                                for k, v in state.items() if k.startswith("encoder_edge."))
        names = {"encoder_raw.": "encoders.0.", "encoder_edge.": None if shared else "encoders.1.",
                 "rule.score_a.": "rule.scores.0.", "rule.score_b.": "rule.scores.1."}
        out: dict[str, Tensor] = {}
        for key, value in state.items():
            prefix = next((p for p in names if key.startswith(p)), None)
            if prefix is None:
                out[key] = value
            elif names[prefix] is not None:
                out[names[prefix] + key[len(prefix):]] = value
        return out

    def _coarse(self, g: Tensor) -> Tensor:
        """The coarser levels of the U-Net, from features at 1/2 of the fused ones to the same resolution."""
        if self.config.levels == 2:
            return self.level(F.relu(self.align(g)))
        g = self.level(g)
        deep = self.level2(F.relu(self.align(self.down2(g))))
        return self.merge(torch.cat([g, self.up2(deep)], dim=1))

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters split into 'offset' (deformable-conv offset predictors) and 'base' (the rest)."""
        offset = [p for m in self.modules() if isinstance(m, DeformConvBlock) for p in m.offset_parameters()]
        ids = {id(p) for p in offset}
        return {"base": [p for p in self.parameters() if id(p) not in ids], "offset": offset}

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
