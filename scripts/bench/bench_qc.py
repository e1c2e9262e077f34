"""Field-data QC benchmark: local similarity, `seisfuse evaluate` without a reference, and its memory.

Targets (issues 24 and 25):
* local similarity (leakage) within 2x of the cost of its fixed 20 conjugate-gradient iterations of
  the shaping system (the reference, Madagascar's sfsimilarity / divn, stops after a fixed, small
  number of iterations), with the leakage figures close to the converged solution;
* `seisfuse evaluate` on one 500 x 1500 line without `--clean`, default rows, under 30 s on 2 cores;
* `seisfuse evaluate`'s peak memory flat per sample, under 1 GB for a 1000 x 3000 section.

    python scripts/bench/bench_qc.py [--skip-memory]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from seisfuse.denoisers import create_denoiser
from seisfuse.evaluation.qc import NITER, box_smooth, local_similarity
from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

SEISFUSE = str(Path(sys.executable).parent / "seisfuse")


def line(path: Path, samples: int, traces: int, seed: int = 3) -> Path:
    """A synthetic 2D line (one inline) with white noise at 0.5, as SEG-Y."""
    cfg = SynthConfig(inlines=1, crosslines=traces, samples=samples, noise=0.5, seed=seed, faults=2)
    write_volume(path, make_survey(cfg).seismic, cfg)
    return path


def similarity_figures(samples: int, traces: int) -> None:
    """Time of the default local similarity, per CG iteration, and its leakage against the converged one."""
    s = make_survey(SynthConfig(inlines=1, crosslines=traces, samples=samples, noise=0.5, seed=5, faults=2))
    raw = np.clip(s.seismic[0].T / np.percentile(np.abs(s.seismic), 99.5), -1, 1) * 0.5 + 0.5
    out = create_denoiser("fxdecon")(raw.astype(np.float32)).astype(np.float64)
    removed, kept = raw - out, out - 0.5
    t = time.perf_counter()
    fast = local_similarity(removed, kept)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(10):  # one CG iteration costs three smoother passes (T, T, T) and two dot products
        box_smooth(box_smooth(box_smooth(removed, (10, 5)), (10, 5)) * removed, (10, 5))
    per_iteration = (time.perf_counter() - t) / 10
    exact = local_similarity(removed, kept, niter=1000)
    floor = 2 * (NITER + 2) * per_iteration  # two ratios of NITER iterations (+ the right-hand side and the result)
    print(f"local similarity of a {samples} x {traces} section: {seconds:.2f} s with {NITER} CG iterations per ratio; "
          f"{floor:.2f} s is the bare cost of those iterations: {seconds / floor:.2f}x (target <= 2x)")
    print(f"  leakage mean {fast.mean():.4f} vs {exact.mean():.4f} converged (1000 iterations); share above 0.3 "
          f"{(fast > 0.3).mean():.4f} vs {(exact > 0.3).mean():.4f}")


def evaluate_time(tmp: Path) -> None:
    """Wall time of `seisfuse evaluate` on a 500 x 1500 line without a reference, default rows."""
    src = line(tmp / "line.sgy", 1500, 500)
    subprocess.run([SEISFUSE, "baseline", "--method", "gaussian", "--input", src, "--output", tmp / "g.sgy",
                    "--quiet"], check=True, capture_output=True)
    t = time.perf_counter()
    res = subprocess.run([SEISFUSE, "evaluate", "--input", src, "--fused", tmp / "g.sgy", "--quiet"], capture_output=True,
                         text=True)
    seconds = time.perf_counter() - t
    assert res.returncode == 0, res.stderr
    print(f"seisfuse evaluate, one 500 x 1500 line, no reference, default rows (the fused file, gaussian, median, "
          f"bilateral, fxdecon, the input, the edge branch): {seconds:.1f} s (target < 30 s)")


def evaluate_memory(tmp: Path) -> None:
    """Peak RSS of `seisfuse evaluate` (one section, no reference, no classical rows) against the section size."""
    rows = []
    for samples, traces in ((750, 250), (1500, 500), (3000, 1000)):
        src = line(tmp / f"m{traces}.sgy", samples, traces)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        res = subprocess.run([SEISFUSE, "evaluate", "--input", src, "--fused", src, "--classical", "none", "--quiet"],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB; grows with the largest child so far
        rows.append((samples * traces, max(peak, before) / 1024))
        src.unlink()
    base = rows[0][1]
    for n, mb in rows:
        print(f"  evaluate peak RSS, {n / 1e6:.2f} M samples: {mb:.0f} MB ({(mb - base) * 2**20 / max(n - rows[0][0], 1):.0f} "
              "bytes per extra sample over the smallest)")
    print(f"evaluate on a 1000 x 3000 section: {rows[-1][1]:.0f} MB peak (target < 1024 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    similarity_figures(751, 201)
    similarity_figures(1500, 500)
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        evaluate_time(Path(tmp))
        if not args.skip_memory:
            evaluate_memory(Path(tmp))


if __name__ == "__main__":
    main()
