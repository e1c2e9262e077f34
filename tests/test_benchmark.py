"""seisfuse benchmark: the semi-real protocol on a file, with seeded noise, scored against the original."""

from __future__ import annotations

import json

import numpy as np
from conftest import REALDATA, synth_segy, trace_headers

from seisfuse.evaluation.benchmark import noisy_copy
from seisfuse.segy import open_volume
from seisfuse.synth.noise import signal_rms


def test_noisy_copy_has_the_ratio_and_the_headers(tmp_path):
    src = tmp_path / "line.sgy"
    synth_segy(src, inlines=1, crosslines=80, samples=120, faults=1, noise=0.0, seed=4)
    out = noisy_copy(src, tmp_path / "noisy.sgy", "band", 0.5, seed=1)
    assert trace_headers(out) == trace_headers(src)
    with open_volume(src) as a, open_volume(out) as b:
        clean, noisy = a.section("inline", 0), b.section("inline", 0)
    assert abs(np.sqrt(np.mean((noisy - clean) ** 2)) / signal_rms(clean) - 0.5) < 0.01
    again = noisy_copy(src, tmp_path / "again.sgy", "band", 0.5, seed=1)
    assert again.read_bytes() == out.read_bytes(), "seeded"


def test_benchmark_rows_metrics_verdict_and_json(trained, tmp_path, run_cli):
    files = []
    for seed in (5, 6):
        files.append(tmp_path / f"real{seed}.sgy")
        synth_segy(files[-1], inlines=3, crosslines=40, samples=64, faults=1, noise=0.05, seed=seed)
    js = tmp_path / "b.json"
    code, out, err = run_cli("benchmark", "--ckpt", trained, "--input", *files, "--noise", "white,band",
                             "--ratio", "0.5", "--json", js, "--workdir", tmp_path / "work")
    assert code == 0, err
    res = json.loads(js.read_text())
    assert len(res["cases"]) == 4 and {c["noise"] for c in res["cases"]} == {"white", "band"}
    for case in res["cases"]:
        rows = case["rows"]
        assert {"noisy input", "gaussian (tuned)", "median (tuned)", "bilateral (tuned)"} <= set(rows)
        assert sum(k.startswith("bilateral best on this file") for k in rows) == 1 and case["model"] in rows
        best_filter = max(v["SSIM"] for k, v in rows.items() if "best on this file" in k)
        assert best_filter >= rows["bilateral (tuned)"]["SSIM"] - 1e-9, "the oracle is at least the tuned setting"
        for r in rows.values():
            assert 0 < r["SSIM"] <= 1 and np.isfinite(r["PSNR"]) and np.isfinite(r["SNR"])
        assert rows["noisy input"]["SSIM"] < 0.95, "the added noise shows"
    assert out.count("every other row") == 4 and (tmp_path / "work" / "real5_white0.5_fused.sgy").exists()


def test_benchmark_scores_a_perfect_fusion_as_perfect(tmp_path, monkeypatch):
    """The scoring is real: a 'model' returning the original gets SSIM 1 and beats every row."""
    import torch

    from seisfuse.branches import BranchSettings
    from seisfuse.evaluation import benchmark
    from seisfuse.inference.fusers import Fuser

    src = tmp_path / "real.sgy"
    synth_segy(src, inlines=2, crosslines=48, samples=64, faults=1, noise=0.0, seed=9)
    settings = BranchSettings()
    with open_volume(src) as vol:
        original = [vol.section("inline", k) for k in range(2)]
    state = {"k": 0}

    def oracle(inputs: torch.Tensor) -> torch.Tensor:  # returns the clean sections, in order
        from seisfuse.branches import fit_normalizer

        with open_volume(tmp_path / "work" / "real_white0.5.sgy") as noisy:
            norm = fit_normalizer(noisy, settings.clip_percentile)
        out = torch.stack([torch.from_numpy(norm.forward(original[state["k"] + i]))[None] for i in range(inputs.shape[0])])
        state["k"] += inputs.shape[0]
        return out

    (case,) = benchmark.semi_real(Fuser("oracle", settings, oracle), [str(src)], tmp_path / "work", kinds=("white",))
    assert case.rows[case.model]["SSIM"] > 0.999 and " beats every other row" in case.verdict()


def test_benchmark_on_the_shared_real_lines_when_present(trained, tmp_path, run_cli):
    import pytest

    f3 = REALDATA / "F3_very_small.sgy"
    if not f3.exists():
        pytest.skip("../shared/realdata is not present beside this checkout")
    code, out, err = run_cli("benchmark", "--ckpt", trained, "--input", f3, "--noise", "white")
    assert code == 0 and "F3_very_small.sgy + white noise" in out, err
