"""Model benchmark: train step and inference per 512 x 512 section, with and without the deformable conv.

Target (issue 4): the full net's train step <= 3x the same net with the deformable conv
replaced by a plain 3x3 conv (torchvision's CPU DCN is ~100x a plain conv, so where the
DCN sits and how wide it is decides this). Runs on the CPU unless --device cuda.

    python scripts/bench/bench_model.py [--size 512] [--batch 1] [--repeat 3] [--config '{"deform_channels": 32}']
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from seisfuse.losses import FusionLoss
from seisfuse.models import FusionConfig, FusionNet


def timed(fn, repeat: int, device: str) -> float:
    """Median seconds per call after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def bench(cfg: FusionConfig, size: int, batch: int, repeat: int, device: str) -> tuple[float, float, int]:
    """(train step s, inference s) per batch of size x size sections, and the parameter count."""
    torch.manual_seed(0)
    net = FusionNet(cfg).to(device)
    loss_fn = FusionLoss({}, patch_size=size)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    raw = torch.rand(batch, 1, size, size, device=device)
    edge = torch.rand(batch, 1, size, size, device=device)

    def train_step() -> None:
        net.train()
        loss, _ = loss_fn(net(raw, edge), raw, edge)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        net.eval()
        net(raw, edge)

    return timed(train_step, repeat, device), timed(infer, repeat, device), net.n_parameters()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--config", default="{}", help="FusionConfig overrides as JSON")
    args = p.parse_args()
    base = json.loads(args.config)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, batch {args.batch} x {args.size}^2")
    full = bench(FusionConfig.from_dict(base), args.size, args.batch, args.repeat, args.device)
    plain = bench(FusionConfig.from_dict({**base, "deform": False}), args.size, args.batch, args.repeat, args.device)
    for name, (train, infer, n) in (("full net", full), ("DCN -> plain conv", plain)):
        print(f"{name:18s} {n:7d} params: train step {train * 1e3 / args.batch:8.1f} ms/section, "
              f"inference {infer * 1e3 / args.batch:8.1f} ms/section")
    print(f"train step ratio full / plain-conv: {full[0] / plain[0]:.2f}x (target <= 3x); "
          f"inference ratio: {full[1] / plain[1]:.2f}x")


if __name__ == "__main__":
    main()
