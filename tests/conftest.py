"""Shared fixtures: real SEG-Y files written with segyio itself, tiny volumes, the CLI in-process."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import segyio

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("MPLBACKEND", "Agg")

#: numpy dtype segyio expects for samples of each integer format
NATIVE = {2: np.int32, 3: np.int16, 6: np.float64, 8: np.int8, 9: np.int64, 10: np.uint32, 11: np.uint16,
          12: np.uint64, 16: np.uint8}
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def write_segy(path: Path, data: np.ndarray, *, fmt: int = 5, endian: str = "big", sorting: str = "inline",
               ilines: np.ndarray | None = None, xlines: np.ndarray | None = None, missing: set | None = None,
               shuffle: int | None = None, iline_byte: int | None = 189, xline_byte: int = 193,
               dt_us: int = 4000, extra_headers: bool = True, ext_headers: int = 0) -> Path:
    """Write data (inlines, crosslines, samples) as SEG-Y with segyio, trace by trace, with chosen layout.

    missing: (i, j) grid positions to leave out (irregular survey); shuffle: seed to write traces in random
    order; iline_byte None writes no inline key (a 2D line keyed by xline_byte).
    """
    ni, nx, ns = data.shape
    ilines = np.arange(1, ni + 1) if ilines is None else np.asarray(ilines)
    xlines = np.arange(1, nx + 1) if xlines is None else np.asarray(xlines)
    order = [(i, j) for i in range(ni) for j in range(nx)] if sorting == "inline" else \
        [(i, j) for j in range(nx) for i in range(ni)]
    order = [p for p in order if not missing or p not in missing]
    # ext_headers: that many extended textual headers (SEG-Y rev 1), each with its number in the text
    if shuffle is not None:
        rng = np.random.default_rng(shuffle)
        order = [order[k] for k in rng.permutation(len(order))]
    spec = segyio.spec()
    spec.samples = list(range(ns))
    spec.tracecount = len(order)
    spec.format = fmt
    spec.endian = endian
    spec.ext_headers = ext_headers
    with segyio.create(os.fspath(path), spec) as f:
        f.text[0] = segyio.tools.create_text_header({1: "seisfuse test file", 2: f"format {fmt} {endian}"})
        for k in range(1, ext_headers + 1):
            f.text[k] = segyio.tools.create_text_header({1: f"extended header {k} of {ext_headers}"})
        f.bin.update(hdt=dt_us, hns=ns)
        for t, (i, j) in enumerate(order):
            header = {segyio.TraceField.TRACE_SAMPLE_COUNT: ns, segyio.TraceField.TRACE_SAMPLE_INTERVAL: dt_us,
                      xline_byte: int(xlines[j])}
            if iline_byte is not None:
                header[iline_byte] = int(ilines[i])
            if extra_headers:  # distinctive bytes elsewhere, to prove every header byte survives a write
                header[segyio.TraceField.CDP_X] = 1000 + 7 * t
                header[segyio.TraceField.CDP_Y] = -3 * t
                header[segyio.TraceField.offset] = 11
            f.header[t] = header
            f.trace[t] = np.ascontiguousarray(data[i, j], dtype=NATIVE.get(fmt, np.float32))
    return Path(path)


def cube(ni: int = 6, nx: int = 5, ns: int = 20, seed: int = 0, integer: bool = False) -> np.ndarray:
    """A small test volume with distinct values per trace (integers if asked)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 30, size=(ni, nx, ns))
    return np.round(data).astype(np.float32) if integer else data.astype(np.float32)


def trace_headers(path: Path, endian: str = "big", ext_headers: int = 0) -> list[bytes]:
    """Raw bytes of every trace header of a file."""
    with segyio.open(os.fspath(path), ignore_geometry=True, endian=endian) as f:
        n, size = f.tracecount, os.path.getsize(path)
    start = 3600 + 3200 * ext_headers
    raw = Path(path).read_bytes()
    step = (size - start) // n
    return [raw[start + k * step: start + k * step + 240] for k in range(n)]


@pytest.fixture
def tiny_segy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 6 x 5 x 20 inline-sorted IEEE float file and its data."""
    data = cube()
    return write_segy(tmp_path / "tiny.sgy", data), data


@pytest.fixture
def run_cli(capsys):
    """Run `seisfuse ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from seisfuse.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        # libraries bind log handlers to the stderr of the test that imported them: point them at this one
        loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                           if isinstance(lg, logging.Logger)]
        for lg in loggers:
            for handler in lg.handlers:
                if type(handler) is logging.StreamHandler and getattr(handler.stream, "closed", False):
                    handler.stream = sys.stderr  # setStream would flush the closed one
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


ROOT = Path(__file__).resolve().parents[1]


def synth_segy(path: Path, **knobs) -> Path:
    """A synthetic survey (its noisy volume) written as SEG-Y by synth's own writer; knobs are SynthConfig's."""
    from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

    cfg = SynthConfig(**knobs)
    write_volume(path, make_survey(cfg).seismic, cfg)
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """A checkpoint from two real training steps of the tiny net."""
    from seisfuse.cli import main

    folder = tmp_path_factory.mktemp("trained")
    survey = folder / "train.sgy"
    synth_segy(survey, inlines=48, crosslines=48, samples=64, faults=2, seed=3)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main(["fit", "--config", str(ROOT / "configs/default.yaml"), "--config", str(ROOT / "tests/tiny.yaml"),
                     f"--data.train_files=[{survey}]", "--trainer.logger=false",
                     f"--trainer.default_root_dir={folder / 'run'}"])
    finally:
        os.chdir(cwd)
        os.environ.pop("SEISFUSE_RUN_DIR", None)
    assert code == 0
    return folder / "run" / "checkpoints" / "last.ckpt"


def slurm_job_id() -> str:
    """A random SLURM job id: Lightning derives its rendezvous port from it, so runs side by side must not share one."""
    import random

    return str(random.SystemRandom().randint(100_000, 9_999_999))


#: Subprocess time limit of multi-process tests: generous, so a busy 2-core machine does not fail them.
SLOW_LIMIT_S = 1200


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """Run in a fresh folder with no run folder inherited from an earlier fit in this process."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEISFUSE_RUN_DIR", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    yield tmp_path
    os.environ.pop("SEISFUSE_RUN_DIR", None)
