"""Edge ops against scikit-image / scipy references, the pipeline from YAML, and exact patches with halo."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import ndimage as ndi
from skimage import morphology as morph

from seisfuse.edges import DEFAULT_PIPELINE, REGISTRY, EdgeOpError, EdgePipeline, build_op

RNG = np.random.default_rng(0)
IMG = RNG.random((37, 53)).astype(np.float32)
# a smooth image with real structure, so edge detectors see edges and nothing saturates
YY, XX = np.mgrid[0:64, 0:80]
SMOOTH = (0.5 + 0.4 * np.sin(XX / 5.0 + YY / 9.0) * np.cos(YY / 7.0)).astype(np.float32)


def mirror(fn, *args, **kw):
    """A scipy filter in float64 with OpenCV's default border (reflect-101 = scipy 'mirror')."""
    return fn(IMG.astype(np.float64), *args, mode="mirror", **kw)


def test_every_op_keeps_shape_dtype_and_range():
    for name in REGISTRY:
        out = build_op(name)(IMG)
        assert out.shape == IMG.shape and out.dtype == np.float32, name
        assert out.min() >= 0.0 and out.max() <= 1.0, name


# ---------------------------------------------------------------- smoothing / sharpening references
@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.5])
def test_gaussian_matches_scipy(sigma):
    op = build_op({"op": "gaussian", "sigma": sigma})
    ref = mirror(ndi.gaussian_filter, sigma, radius=int(op.halo))
    np.testing.assert_allclose(op(IMG), ref, atol=2e-6)


@pytest.mark.parametrize("size", [3, 5, 7])
def test_median_matches_scipy(size):
    ref = ndi.median_filter(IMG, size=size, mode="nearest")
    np.testing.assert_array_equal(build_op({"op": "median", "size": size})(IMG), ref)


def test_box_matches_scipy():
    np.testing.assert_allclose(build_op({"op": "box", "size": 5})(IMG), mirror(ndi.uniform_filter, 5), atol=1e-6)


def test_bilateral_matches_bruteforce_definition():
    d, sc, ss = 5, 0.2, 2.0
    r = d // 2
    pad = np.pad(IMG.astype(np.float64), r, mode="reflect")  # numpy 'reflect' = OpenCV reflect-101
    num = np.zeros(IMG.shape)
    den = np.zeros(IMG.shape)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx > r * r:
                continue  # OpenCV uses a round window
            nb = pad[r + dy: r + dy + IMG.shape[0], r + dx: r + dx + IMG.shape[1]]
            w = np.exp(-(dy * dy + dx * dx) / (2 * ss**2)) * np.exp(-((nb - IMG) ** 2) / (2 * sc**2))
            num += w * nb
            den += w
    ours = build_op({"op": "bilateral", "diameter": d, "sigma_color": sc, "sigma_space": ss})(IMG)
    np.testing.assert_allclose(ours, num / den, atol=2e-3)  # OpenCV tabulates the range kernel


def test_unsharp_matches_definition():
    op = build_op({"op": "unsharp", "sigma": 1.5, "amount": 2.0})
    blur = mirror(ndi.gaussian_filter, 1.5, radius=int(op.halo))
    ref = np.clip(IMG + 2.0 * (IMG - blur), 0, 1)
    np.testing.assert_allclose(op(IMG), ref, atol=1e-5)


def test_laplacian_sharpen_matches_definition():
    lap = mirror(ndi.laplace)
    ref = np.clip(IMG - 0.3 * lap, 0, 1)
    np.testing.assert_allclose(build_op({"op": "laplacian_sharpen", "strength": 0.3})(IMG), ref, atol=1e-6)


# ---------------------------------------------------------------- morphology: exact
MORPH_REFS = {"erode": morph.erosion, "dilate": morph.dilation, "open": morph.opening, "close": morph.closing,
              "tophat": morph.white_tophat, "blackhat": morph.black_tophat}


@pytest.mark.parametrize("shape", ["rect", "ellipse", "cross"])
@pytest.mark.parametrize("name", sorted(MORPH_REFS) + ["morph_gradient"])
@pytest.mark.parametrize("size", [3, 5])
def test_morphology_matches_skimage_exactly(name, shape, size):
    op = build_op({"op": name, "size": size, "shape": shape})
    fp = op.kernel.astype(bool)
    if name == "morph_gradient":
        ref = morph.dilation(IMG, fp) - morph.erosion(IMG, fp)
    else:
        ref = MORPH_REFS[name](IMG, fp)
    np.testing.assert_array_equal(op(IMG), ref)


def test_morph_contrast_is_image_plus_tophat_minus_blackhat():
    op = build_op({"op": "morph_contrast", "size": 5, "gain": 0.7})
    fp = op.kernel.astype(bool)
    ref = np.clip(IMG + 0.7 * (morph.white_tophat(IMG, fp) - morph.black_tophat(IMG, fp)), 0, 1)
    np.testing.assert_allclose(op(IMG), ref, atol=1e-6)
    assert op.output is None, "keeps the input's polarity"


def test_morphology_iterations_repeat_the_op():
    op = build_op({"op": "erode", "size": 3, "shape": "cross", "iterations": 3})
    ref = IMG
    for _ in range(3):
        ref = morph.erosion(ref, op.kernel.astype(bool))
    np.testing.assert_array_equal(op(IMG), ref)
    op = build_op({"op": "open", "size": 3, "iterations": 2})
    fp = op.kernel.astype(bool)
    ref = morph.dilation(morph.dilation(morph.erosion(morph.erosion(IMG, fp), fp), fp), fp)
    np.testing.assert_array_equal(op(IMG), ref)


def test_morph_gain_scales_without_stretch():
    plain = build_op({"op": "tophat", "size": 5})(IMG)
    gained = build_op({"op": "tophat", "size": 5, "gain": 2.0})(IMG)
    np.testing.assert_allclose(gained, np.clip(2 * plain, 0, 1), atol=1e-7)


# ---------------------------------------------------------------- edge detectors
def test_sobel_matches_scipy_with_fixed_scale():
    gx = ndi.sobel(SMOOTH.astype(np.float64), axis=1, mode="mirror")
    gy = ndi.sobel(SMOOTH.astype(np.float64), axis=0, mode="mirror")
    ref = np.clip(3.0 * np.hypot(gx, gy) / (4 * math.sqrt(2)), 0, 1)
    np.testing.assert_allclose(build_op({"op": "sobel", "gain": 3.0})(SMOOTH), ref, atol=1e-6)


def test_scharr_matches_definition():
    k = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]], np.float64)
    img = SMOOTH.astype(np.float64)
    gx = ndi.correlate(img, k, mode="mirror")
    gy = ndi.correlate(img, k.T, mode="mirror")
    ref = np.clip(np.hypot(gx, gy) / (16 * math.sqrt(2)), 0, 1)
    np.testing.assert_allclose(build_op("scharr")(SMOOTH), ref, atol=1e-6)


def test_laplacian_detector_matches_scipy():
    ref = np.clip(np.abs(ndi.laplace(SMOOTH.astype(np.float64), mode="mirror")) / 4.0 * 5.0, 0, 1)
    np.testing.assert_allclose(build_op({"op": "laplacian", "gain": 5.0})(SMOOTH), ref, atol=1e-6)


def test_canny_finds_a_step_edge_and_respects_thresholds():
    step = np.zeros((40, 40), np.float32)
    step[:, 20:] = 0.8
    edges = build_op({"op": "canny", "low": 0.05, "high": 0.1})(step)
    assert set(np.unique(edges)) == {0.0, 1.0}
    cols = np.flatnonzero(edges.any(axis=0))
    assert set(cols) <= {19, 20} and edges[:, 19:21].any(axis=1).all()
    # the step's normalized Sobel magnitude is 0.8 * 4 / (4 sqrt 2) = 0.57: above it, nothing is an edge
    assert build_op({"op": "canny", "low": 0.6, "high": 0.6})(step).sum() == 0


def test_fixed_scale_means_same_value_everywhere():
    """No per-image min-max: a region's edge values do not depend on the rest of the image."""
    pipe = EdgePipeline.from_config(DEFAULT_PIPELINE)
    quiet = SMOOTH.copy()
    loud = SMOOTH.copy()
    loud[:, :10] = np.where(np.arange(10) % 2, 1.0, 0.0)  # a much stronger feature elsewhere
    np.testing.assert_array_equal(pipe(quiet)[:, 30:], pipe(loud)[:, 30:])


# ---------------------------------------------------------------- pipeline
def test_pipeline_from_yaml_and_back():
    text = """
    - {op: gaussian, sigma: 1}
    - {op: unsharp, amount: 1.5}
    - {op: morph_gradient, size: 3}
    """
    pipe = EdgePipeline.from_config(yaml.safe_load(text))
    assert [op.name for op in pipe.ops] == ["gaussian", "unsharp", "morph_gradient"]
    assert pipe.ops[0].sigma == 1.0 and isinstance(pipe.ops[0].sigma, float)
    assert pipe.output == "magnitude" and pipe.halo == 4 + 4 + 1
    assert EdgePipeline.from_config(DEFAULT_PIPELINE).output == "amplitude"
    again = EdgePipeline.from_config(pipe.to_config())
    np.testing.assert_array_equal(again(IMG), pipe(IMG))
    assert "unsharp(amount=1.5)" in pipe.describe()


@pytest.mark.parametrize("spec,message", [
    ([{"op": "gausian"}], "unknown edge op 'gausian'; valid ops: "),
    ([{"op": "gaussian", "sigmaa": 1}], "unknown parameter sigmaa; valid: sigma, truncate"),
    ([{"op": "gaussian", "sigma": -1}], "sigma must be a positive number"),
    ([{"op": "median", "size": 4}], "size must be an odd integer"),
    ([{"op": "erode", "shape": "star"}], "shape must be one of rect, ellipse, cross"),
    ([{"op": "canny", "low": 0.5, "high": 0.1}], "must not exceed"),
    ([{"sigma": 1}], "needs an 'op' key"),
    ({"op": "gaussian"}, "must be a list"),
])
def test_bad_pipeline_errors_list_what_is_valid(spec, message):
    with pytest.raises(EdgeOpError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EdgePipeline.from_config(spec)


def test_unknown_op_error_lists_all_ops():
    with pytest.raises(EdgeOpError) as err:
        EdgePipeline.from_config([{"op": "nope"}])
    for name in REGISTRY:
        assert name in str(err.value)


ALL_LOCAL_OPS = [[{"op": n}] for n in sorted(REGISTRY) if n != "canny"] + [
    DEFAULT_PIPELINE,
    [{"op": "bilateral"}, {"op": "median", "size": 7}, {"op": "close", "size": 5, "iterations": 2},
     {"op": "laplacian_sharpen"}, {"op": "scharr", "gain": 4}],
]


@pytest.mark.parametrize("spec", ALL_LOCAL_OPS, ids=lambda s: "+".join(o["op"] for o in s))
def test_patch_with_halo_equals_whole_section_crop(spec):
    rng = np.random.default_rng(1)
    section = rng.random((131, 211)).astype(np.float32)
    pipe = EdgePipeline.from_config(spec)
    whole = pipe(section)
    for _ in range(60):
        y0 = int(rng.integers(0, 120))
        y1 = int(rng.integers(y0 + 1, 132))
        x0 = int(rng.integers(0, 200))
        x1 = int(rng.integers(x0 + 1, 212))
        # equal up to float32 rounding: OpenCV's SIMD derivative kernels may sum in another order at another
        # alignment (seen as 9e-8 on an AVX-512 machine); a missing or wrong halo differs by far more
        np.testing.assert_allclose(pipe.apply_region(section, y0, y1, x0, x1), whole[y0:y1, x0:x1], rtol=0, atol=1e-6)


def test_canny_pipeline_uses_the_whole_section():
    pipe = EdgePipeline.from_config([{"op": "gaussian"}, {"op": "canny", "low": 0.01, "high": 0.03}])
    assert pipe.halo == math.inf
    np.testing.assert_array_equal(pipe.apply_region(SMOOTH, 10, 30, 5, 50), pipe(SMOOTH)[10:30, 5:50])
