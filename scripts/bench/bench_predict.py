"""Prediction benchmark: end-to-end time against network-forward-only time, and peak memory at 1x and 4x volume.

Targets (issue 6): `predict` over a volume <= 1.2x the time of the network forward alone
on the same sections (reading, normalization, edges and writing must not matter), and
peak RSS for a volume 4x larger grows < 20% (streaming). Uses the default FusionNet
(untrained weights: the cost is the same) on the CPU unless --device cuda.

    python scripts/bench/bench_predict.py [--inlines 48 --crosslines 128 --samples 256] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning
import torch

from seisfuse.branches import Branches
from seisfuse.module import FusionModule
from seisfuse.normalize import fit_normalizer
from seisfuse.predict import SectionDataset, load_fuser, predict_volume
from seisfuse.segy import open_volume
from seisfuse.synth import SynthConfig, make_survey, write_volume

RSS_SCRIPT = """
import resource, sys
from seisfuse.predict import load_fuser, predict_volume
predict_volume(load_fuser(sys.argv[1]), sys.argv[2], sys.argv[3], batch_size=int(sys.argv[4]), device="cpu",
               num_workers=0, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_checkpoint(path: Path) -> None:
    """A loadable checkpoint of the default network (random weights)."""
    torch.manual_seed(0)
    module = FusionModule()
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "pytorch-lightning_version": lightning.__version__}, path)


def forward_only(ckpt: Path, volume_path: Path, batch_size: int, device: str) -> float:
    """Seconds of the network forward over every inline, inputs prepared in memory beforehand."""
    fuser = load_fuser(ckpt, device=device)
    with open_volume(volume_path) as vol:
        ds = SectionDataset(vol, "inline", Branches(fuser.settings, fit_normalizer(vol, fuser.settings.clip_percentile)))
        items = [ds[k] for k in range(len(ds))]
    batches = [(torch.stack([it["raw"] for it in items[i:i + batch_size]]).to(device),
                torch.stack([it["edge"] for it in items[i:i + batch_size]]).to(device))
               for i in range(0, len(items), batch_size)]
    net = fuser.module.net.to(device).eval()
    with torch.inference_mode():
        net(*batches[0])
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for raw, edge in batches:
            net(raw, edge).cpu()
        if device == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inlines", type=int, default=48)
    p.add_argument("--crosslines", type=int, default=128)
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmpdir:
        tmp = Path(tmpdir)
        ckpt = tmp / "bench.ckpt"
        make_checkpoint(ckpt)
        vols = {}
        for scale in (1, 4):
            cfg = SynthConfig(inlines=args.inlines * scale, crosslines=args.crosslines, samples=args.samples, seed=1)
            vols[scale] = tmp / f"v{scale}.sgy"
            write_volume(vols[scale], make_survey(cfg).seismic, cfg)
        fuser = load_fuser(ckpt)
        predict_volume(fuser, vols[1], tmp / "warm.sgy", batch_size=args.batch_size, device=args.device,
                       num_workers=2, progress=False)
        t = time.perf_counter()
        res = predict_volume(fuser, vols[1], tmp / "out.sgy", batch_size=args.batch_size, device=args.device,
                             num_workers=2, progress=False)
        end_to_end = time.perf_counter() - t
        fwd = forward_only(ckpt, vols[1], args.batch_size, args.device)
        print(f"volume {args.inlines} x {args.crosslines} x {args.samples}, {res.sections} inline sections, "
              f"device {args.device}, batch {args.batch_size}")
        print(f"predict end-to-end {end_to_end:.2f} s (Trainer set-up included); network forward only {fwd:.2f} s; "
              f"ratio {end_to_end / fwd:.2f}x (target <= 1.2x)")
        rss = {}
        for scale, path in vols.items():
            out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(ckpt), str(path), str(tmp / f"rss{scale}.sgy"),
                                  str(args.batch_size)], capture_output=True, text=True, check=True)
            rss[scale] = int(out.stdout.strip().splitlines()[-1]) / 1024
        growth = rss[4] / rss[1] - 1
        print(f"peak RSS: {rss[1]:.0f} MB at 1x ({vols[1].stat().st_size / 1e6:.0f} MB file), {rss[4]:.0f} MB at 4x "
              f"({vols[4].stat().st_size / 1e6:.0f} MB file): growth {growth * 100:.1f}% (target < 20%)")
        print(json.dumps({"ratio": end_to_end / fwd, "rss_growth": growth}))


if __name__ == "__main__":
    main()
