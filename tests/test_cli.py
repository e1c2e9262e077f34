"""The command line as a new user meets it: typos, early checks, folders made, verdicts only against a reference."""

from __future__ import annotations

import logging

import pytest
from conftest import synth_segy

from seisfuse.errors import SeisfuseError


@pytest.mark.parametrize("args,words", [
    (["predcit", "--input", "x.sgy"], ["unknown command 'predcit'; did you mean predict?", "fit, validate, test"]),
    (["predict", "--ouput", "a.sgy", "--input", "x.sgy"], ["predict: unknown option --ouput; did you mean --output?"]),
    (["evaluate", "--input", "a", "--fused", "b", "--classic", "all"], ["unknown option --classic; did you mean "
                                                                        "--classical?"]),
    (["evaluate", "--input", "a", "--fused", "b", "--section", "3"], ["unknown option --section; did you mean "
                                                                      "--sections?"]),
])
def test_typos_are_one_line_with_the_nearest_name_and_nothing_is_abbreviated(run_cli, args, words):
    code, out, err = run_cli(*args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and all(w in lines[0] for w in words), err


def test_predict_checks_inputs_outputs_and_device_before_it_loads_a_model(run_cli, tmp_path, monkeypatch):
    def no_model(*a, **k):  # the checks below must all come before any model is read
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("seisfuse.inference.fusers.load_fuser", no_model)
    good = synth_segy(tmp_path / "good.sgy", inlines=2, crosslines=16, samples=32, seed=1)
    text = tmp_path / "notes.txt"
    text.write_text("not seismic\n" * 400)
    (tmp_path / "exists.sgy").write_bytes(good.read_bytes())
    cases = [
        (["--input", tmp_path / "missing.sgy", "--output", tmp_path / "o.sgy"], "missing.sgy"),
        (["--input", tmp_path, "--output", tmp_path / "o.sgy"], str(tmp_path)),
        (["--input", text, "--output", tmp_path / "o.sgy"], "notes.txt"),
        (["--input", good, "--output", tmp_path / "exists.sgy"], "output exists; pass --force"),
        (["--input", good, "--output", good, "--force"], "output is the input file"),
    ]
    for args, words in cases:
        code, _, err = run_cli("predict", *args, "--quiet")
        assert code != 0 and len(err.strip().splitlines()) == 1 and words in err, (args, err)
    import torch

    if not torch.cuda.is_available():
        code, _, err = run_cli("predict", "--input", good, "--output", tmp_path / "o.sgy", "--device", "cuda")
        assert code == 2 and "--device: cuda: no CUDA device" in err


def test_output_dir_is_made_and_several_cpu_devices_get_a_note(run_cli, tmp_path, caplog):
    good = synth_segy(tmp_path / "good.sgy", inlines=2, crosslines=16, samples=32, seed=1)
    code, out, err = run_cli("predict", "--input", good, "--output-dir", tmp_path / "new" / "fused", "--quiet",
                             "--num-workers", "0")
    assert code == 0, err
    assert (tmp_path / "new" / "fused" / "good.sgy").is_file()
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli("predict", "--input", good, "--output-dir", tmp_path / "afile")
    assert code == 1 and "--output-dir is a file, not a folder" in err
    import torch

    from seisfuse.inference.predict import check_devices

    if not torch.cuda.is_available():
        with caplog.at_level(logging.WARNING, logger="seisfuse"):
            check_devices("auto", 4)
        assert "--devices 4 on a machine without a GPU starts 4 CPU processes" in caplog.text


def test_evaluate_without_a_reference_gives_checks_not_a_verdict(run_cli, tmp_path):
    noisy = synth_segy(tmp_path / "n.sgy", inlines=3, crosslines=48, samples=64, seed=2, noise=0.5)
    run_cli("baseline", "--method", "gaussian", "--input", noisy, "--output", tmp_path / "g.sgy", "--quiet")
    code, out, err = run_cli("evaluate", "--input", noisy, "--fused", tmp_path / "g.sgy", "--sections", "1",
                             "--classical", "fxdecon", "--quiet")
    assert code == 0, err
    assert "NOT beat" not in out and " beats every other row" not in out, "no verdict against the input itself"
    assert "no clean reference: no verdict" in out and "g.sgy: leakage" in out and "fxdecon (tuned): leakage" in out
    clean = synth_segy(tmp_path / "c.sgy", inlines=3, crosslines=48, samples=64, seed=2, noise=0.0)
    code, out, err = run_cli("evaluate", "--input", noisy, "--fused", tmp_path / "g.sgy", "--sections", "1",
                             "--classical", "none", "--clean", clean, "--quiet")
    assert code == 0 and "every other row" in out and "no clean reference" not in out, out


def test_compare_tells_files_of_the_same_name_apart(run_cli, tmp_path):
    from seisfuse.evaluation.viz import distinct_titles

    a = synth_segy((tmp_path / "a").mkdir() or tmp_path / "a" / "line.sgy", inlines=2, crosslines=16, samples=32)
    b = synth_segy((tmp_path / "b").mkdir() or tmp_path / "b" / "line.sgy", inlines=2, crosslines=16, samples=32)
    assert distinct_titles([str(a), str(b)]) == ["a/line.sgy", "b/line.sgy"]
    assert distinct_titles([str(a), str(tmp_path / "x.sgy")]) == ["line.sgy", "x.sgy"]
    code, out, err = run_cli("compare", a, b, "--out", tmp_path / "c.png")
    assert code == 0 and (tmp_path / "c.png").stat().st_size > 10_000, err


def test_library_errors_name_their_own_arguments():
    from seisfuse.inference.weights import load_model_file

    with pytest.raises(SeisfuseError, match="checkpoint not found"):
        load_model_file("no/such/model.pt")


@pytest.mark.parametrize("stack", [["default.yaml"], ["fast.yaml"], ["fast.yaml", "fast_semireal.yaml"], ["best.yaml"],
                                   ["adapt.yaml"], ["adapt_best.yaml"], ["demo.yaml"]])
def test_every_shipped_config_stack_parses_and_passes_the_rules(run_cli, stack):
    """`seisfuse fit --config ... --print_config` on each recipe the README names: keys, types and rules all hold."""
    from conftest import ROOT

    args = [a for name in stack for a in ("--config", ROOT / "configs" / name)]
    code, out, err = run_cli("fit", *args, "--print_config")
    assert code == 0, err
    assert "seed_everything" in out and "model:" in out and "data:" in out
