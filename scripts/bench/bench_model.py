"""Model benchmark: inference and train step per 512 x 512 section, the shipped layout against today's default.

Targets: (issue 13) the shipped network (configs/fast.yaml: half resolution after a
pixel-unshuffle stem, the deformable conv on a coarser level) infers a 512 x 512 section
at least 3x faster than the default full-resolution FusionNet, at equal or better
validation quality: with --quality-epochs N both are trained with the same recipe (the
pretrained config, the same synthetic data and steps) and their validation SSIM and PSNR to
clean printed side by side; (issue 4) the full net's train step <= 3x the same net with the
deformable conv replaced by a plain conv. Runs on the CPU unless --device cuda.

    python scripts/bench/bench_model.py [--size 512] [--repeat 3] [--quality-epochs 6]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from seisfuse.models import FusionConfig, FusionNet
from seisfuse.training.losses import FusionLoss

ROOT = Path(__file__).resolve().parents[2]


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
        loss, _ = loss_fn(net(torch.cat([raw, edge], 1)), raw, edge)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer() -> None:
        net.eval()
        net(torch.cat([raw, edge], 1))

    return timed(train_step, repeat, device), timed(infer, repeat, device), net.n_parameters()


def quality(net: dict, epochs: int) -> tuple[float, float]:
    """Validation SSIM and PSNR to clean after `epochs` of the pretrained recipe with this network."""
    import csv
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(dir=".") as tmp:
        overlay = Path(tmp) / "net.yaml"
        overlay.write_text(yaml.safe_dump({"model": {"net": net}}))
        cmd = [str(Path(sys.executable).parent / "seisfuse"), "fit", "--config", str(ROOT / "configs/fast.yaml"),
               "--config", str(overlay), f"--trainer.max_epochs={epochs}", f"--trainer.default_root_dir={tmp}/run",
               "--trainer.enable_progress_bar=false", "--data.synthetic.patches_per_epoch=1024",
               "--trainer.callbacks=[]", "--panels.every_n_epochs=0"]
        if net == {}:  # the default net: model.net from the overlay alone, not merged with the shipped one
            cmd += ["--model.net=null"]
        subprocess.run(cmd, check=True, capture_output=True, env={**__import__("os").environ, "WANDB_MODE": "offline"})
        rows = [r for r in csv.DictReader(open(Path(tmp) / "run" / "csv" / "metrics.csv")) if r.get("val/ssim_clean")]
        return float(rows[-1]["val/ssim_clean"]), float(rows[-1]["val/psnr_clean"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--quality-epochs", type=int, default=0, help="also train both layouts this many epochs")
    args = p.parse_args()
    shipped = yaml.safe_load((ROOT / "configs" / "fast.yaml").read_text())["model"]["net"]
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, batch {args.batch} x {args.size}^2")
    results = {}
    for name, cfg in (("default (full resolution)", {}), ("shipped (half resolution)", shipped)):
        full = bench(FusionConfig.from_dict(cfg), args.size, args.batch, args.repeat, args.device)
        plain = bench(FusionConfig.from_dict({**cfg, "deform": False}), args.size, args.batch, args.repeat,
                      args.device)
        results[name] = full
        print(f"{name:26s} {full[2]:7d} params: inference {full[1] * 1e3 / args.batch:7.1f} ms/section, train step "
              f"{full[0] * 1e3 / args.batch:7.1f} ms/section; DCN vs plain conv: train {full[0] / plain[0]:.2f}x "
              f"(target <= 3x), inference {full[1] / plain[1]:.2f}x")
    old, new = results["default (full resolution)"], results["shipped (half resolution)"]
    print(f"inference speed-up of the shipped layout: {old[1] / new[1]:.2f}x (target >= 3x); "
          f"train step {old[0] / new[0]:.2f}x")
    if args.quality_epochs:
        for name, cfg in (("default (full resolution)", {}), ("shipped (half resolution)", shipped)):
            ssim, psnr = quality(cfg, args.quality_epochs)
            print(f"{name:26s} after {args.quality_epochs} epochs of the pretrained recipe: val SSIM to clean "
                  f"{ssim:.4f}, PSNR {psnr:.2f} dB")


if __name__ == "__main__":
    main()
