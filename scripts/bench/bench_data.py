"""Data benchmark: training patches per second per DataLoader worker, beside the model's training throughput.

Target (issue 5): >= 300 patches/s of 128 x 128 per worker with the default edge pipeline,
so 8 workers outrun a GPU. Measures one worker's work in-process (read with halo,
normalize, edge branch, crop, flip), with and without the memory-mapped cache, then a
2-worker DataLoader, and the default network's training step on this machine.
Issue 13: fresh synthetic patches (data.synthetic) per worker, 64 x 64 as configs/fast.yaml
draws them and 128 x 128, against the shipped network's training throughput: one worker
must feed at least that, so generating data never slows training.

    python scripts/bench/bench_data.py [--inlines 128 --crosslines 128 --samples 512] [--patches 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import yaml

from seisfuse.branches import BranchSettings
from seisfuse.data import SeismicDataModule
from seisfuse.data.synthetic import SyntheticData, SyntheticPatches
from seisfuse.models import FusionNet
from seisfuse.synth.survey import SynthConfig, make_survey, write_volume
from seisfuse.training.losses import FusionLoss

ROOT = Path(__file__).resolve().parents[2]


def per_worker_rate(dm: SeismicDataModule, n: int) -> float:
    """Patches per second of one process producing jittered, flipped training items."""
    ds = dm.train_dataset()
    torch.manual_seed(0)
    perm = torch.randperm(len(ds))
    for i in range(20):
        ds[int(perm[i % len(ds)])]
    t = time.perf_counter()
    for i in range(n):
        ds[int(perm[i % len(ds)])]
    return n / (time.perf_counter() - t)


def synthetic_rate(size: int, n: int) -> float:
    """Fresh synthetic patches per second of one process (the default ranges and edge pipeline)."""
    ds = SyntheticPatches(BranchSettings(), SyntheticData(), size, n, seed=0)
    ds[(0, 0)]
    t = time.perf_counter()
    for i in range(n):
        ds[(1, i)]
    return n / (time.perf_counter() - t)


def loader_rate(dm: SeismicDataModule, batches: int) -> float:
    """Patches per second through the real DataLoader (its workers)."""
    it = iter(dm.train_dataloader())
    next(it)
    t = time.perf_counter()
    n = 0
    for _ in range(batches):
        n += next(it)["raw"].shape[0]
    return n / (time.perf_counter() - t)


def model_rate(patch: int, batch: int, steps: int, device: str, net_config: dict | None = None) -> float:
    """Training patches per second of a FusionNet (default: the default one) with FusionLoss."""
    net = FusionNet(net_config).to(device)
    loss_fn = FusionLoss({}, patch_size=patch)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    raw = torch.rand(batch, 1, patch, patch, device=device)
    edge = torch.rand(batch, 1, patch, patch, device=device)

    def step() -> None:
        loss, _ = loss_fn(net(torch.cat([raw, edge], 1)), raw, edge)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inlines", type=int, default=128)
    p.add_argument("--crosslines", type=int, default=128)
    p.add_argument("--samples", type=int, default=512)
    p.add_argument("--patches", type=int, default=2000)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        path = Path(tmp) / "bench.sgy"
        cfg = SynthConfig(inlines=args.inlines, crosslines=args.crosslines, samples=args.samples, seed=0)
        write_volume(path, make_survey(cfg).seismic, cfg)
        common = {"train_files": [str(path)], "patch_size": 128, "stride": 64, "batch_size": 32, "num_workers": 2,
                  "split_gap": 16}  # throughput only: a small gap keeps a training region in a small survey
        dm = SeismicDataModule(**common)
        t = time.perf_counter()
        dm.setup("fit")
        print(f"setup (normalization, live scan, index): {time.perf_counter() - t:.2f} s; {dm.describe()}")
        direct = per_worker_rate(dm, args.patches)
        cached_dm = SeismicDataModule(**common, cache_dir=str(Path(tmp) / "cache"))
        cached_dm.prepare_data()
        cached_dm.setup("fit")
        cached = per_worker_rate(cached_dm, args.patches)
        print(f"per worker, 128x128 patches, default pipeline: {direct:.0f} patches/s from SEG-Y, "
              f"{cached:.0f} patches/s from the .npy cache (target >= 300)")
        print(f"DataLoader with 2 workers: {loader_rate(dm, min(30, len(dm.train_index) // 32 - 1)):.0f} patches/s")
    rate = model_rate(128, 16, 3, args.device)
    print(f"model training throughput on {args.device}: {rate:.1f} patches/s (default FusionNet, batch 16); "
          f"one worker feeds {direct / rate:.1f}x that")
    net_cfg = yaml.safe_load((ROOT / "configs" / "fast.yaml").read_text())["model"]["net"]
    for size, batch in ((64, 32), (128, 16)):
        synth = synthetic_rate(size, 200)
        shipped = model_rate(size, batch, 3, args.device, net_cfg)
        print(f"synthetic {size}x{size} patches (clean references included): {synth:.0f} patches/s per worker; "
              f"shipped network trains on {shipped:.1f} patches/s: one worker feeds {synth / shipped:.1f}x that "
              f"(target >= 1x)")


if __name__ == "__main__":
    main()
