"""Edge-branch benchmark: a 12-op pipeline on a 512 x 512 section against the bare OpenCV calls.

Target (issue 3): pipeline time <= 1.5x the sum of the same OpenCV calls made directly
(the wrapper's validation, clipping and scaling must be cheap). Also prints the
per-op times and the speed of scikit-image equivalents for a few ops, for context.

    python scripts/bench/bench_edges.py [--size 512] [--repeat 50]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from seisfuse.denoisers.filters import gaussian_blur
from seisfuse.edges import EdgePipeline

BENCH_PIPELINE = [
    {"op": "gaussian", "sigma": 1.0},
    {"op": "median", "size": 3},
    {"op": "bilateral", "diameter": 5, "sigma_color": 0.1, "sigma_space": 2.0},
    {"op": "box", "size": 3},
    {"op": "unsharp", "sigma": 2.0, "amount": 1.5},
    {"op": "laplacian_sharpen", "strength": 0.3},
    {"op": "erode", "size": 3},
    {"op": "dilate", "size": 3},
    {"op": "open", "size": 3},
    {"op": "close", "size": 3},
    {"op": "tophat", "size": 5},
    {"op": "morph_gradient", "size": 3, "gain": 2.0},
]


def bare_opencv(img: np.ndarray) -> np.ndarray:
    """The same 12 operations as direct OpenCV calls, no clipping or checks."""
    r = cv2.BORDER_REFLECT_101
    ell3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    ell5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    x = cv2.GaussianBlur(img, (9, 9), 1.0, sigmaY=1.0, borderType=r)
    x = cv2.medianBlur(x, 3)
    x = cv2.bilateralFilter(x, 5, 0.1, 2.0, borderType=r)
    x = cv2.blur(x, (3, 3), borderType=r)
    x = cv2.addWeighted(x, 2.5, gaussian_blur(x, 2.0), -1.5, 0.0)
    x = cv2.addWeighted(x, 1.0, cv2.Laplacian(x, cv2.CV_32F, ksize=1, borderType=r), -0.3, 0.0)
    x = cv2.erode(x, ell3)
    x = cv2.dilate(x, ell3)
    x = cv2.morphologyEx(x, cv2.MORPH_OPEN, ell3)
    x = cv2.morphologyEx(x, cv2.MORPH_CLOSE, ell3)
    x = cv2.morphologyEx(x, cv2.MORPH_TOPHAT, ell5)
    x = cv2.morphologyEx(x, cv2.MORPH_GRADIENT, ell3) * np.float32(2.0)
    return x


def best_of(fn, repeat: int) -> float:
    """Median wall time of repeat calls, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeat", type=int, default=50)
    args = p.parse_args()
    img = np.random.default_rng(0).random((args.size, args.size)).astype(np.float32)
    pipe = EdgePipeline.from_config(BENCH_PIPELINE)
    for _ in range(3):  # warm-up
        pipe(img)
        bare_opencv(img)
    t_pipe = best_of(lambda: pipe(img), args.repeat)
    t_bare = best_of(lambda: bare_opencv(img), args.repeat)
    print(f"{len(pipe)}-op pipeline on {args.size}x{args.size}: {t_pipe * 1e3:.2f} ms; bare OpenCV calls: "
          f"{t_bare * 1e3:.2f} ms; ratio {t_pipe / t_bare:.2f}x (target <= 1.5x)")
    print("per op (ms):", ", ".join(f"{op.name} {best_of(lambda op=op: op(img), 10) * 1e3:.2f}" for op in pipe.ops))
    from skimage import filters, morphology

    fp = pipe.ops[6].kernel.astype(bool)
    t_sk_gauss = best_of(lambda: filters.gaussian(img, sigma=1.0), 5)
    t_sk_erode = best_of(lambda: morphology.erosion(img, fp), 5)
    t_cv_gauss = best_of(lambda: pipe.ops[0](img), 10)
    t_cv_erode = best_of(lambda: pipe.ops[6](img), 10)
    print(f"scikit-image for context: gaussian {t_sk_gauss * 1e3:.2f} ms ({t_sk_gauss / t_cv_gauss:.0f}x ours), "
          f"erosion {t_sk_erode * 1e3:.2f} ms ({t_sk_erode / t_cv_erode:.0f}x ours)")


if __name__ == "__main__":
    main()
