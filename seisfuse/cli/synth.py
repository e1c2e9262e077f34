"""`seisfuse synth`: write a synthetic survey (and its clean volume and fault mask) as SEG-Y."""

from __future__ import annotations

import argparse
import os

from seisfuse.cli.common import finite_float
from seisfuse.errors import SeisfuseError


def add(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic survey as SEG-Y",
                       description="Write a synthetic folded, faulted layered survey (Ricker wavelet, additive noise) as "
                                   "inline-sorted SEG-Y with inline/crossline at bytes 189/193. Deterministic by seed.")
    p.add_argument("output", metavar="OUT.sgy", help="noisy seismic volume to write")
    p.add_argument("--inlines", type=int, default=128, metavar="N")
    p.add_argument("--crosslines", type=int, default=128, metavar="N")
    p.add_argument("--samples", type=int, default=256, metavar="N")
    p.add_argument("--dt", type=finite_float, default=4.0, metavar="MS", help="sample interval in ms (default 4)")
    p.add_argument("--freq", type=finite_float, default=30.0, metavar="HZ", help="Ricker dominant frequency (default 30)")
    p.add_argument("--phase", type=finite_float, default=0.0, metavar="DEG", help="wavelet phase rotation (default 0)")
    p.add_argument("--faults", type=int, default=3, metavar="K")
    p.add_argument("--noise", type=finite_float, default=0.3, metavar="S", help="noise RMS / signal RMS (default 0.3)")
    p.add_argument("--noise-kind", default="white", metavar="KIND",
                   help="white, band, lateral or bursts, or several joined by '+' (default white)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--fault-mask", default=None, metavar="MASK.sgy", help="also write the fault mask (0/1)")
    p.add_argument("--clean", default=None, metavar="CLEAN.sgy", help="also write the noise-free volume")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seisfuse.files import check_output
    from seisfuse.synth.survey import SynthConfig, make_survey, write_volume

    outputs = [o for o in (args.output, args.clean, args.fault_mask) if o]
    if len({os.path.abspath(o) for o in outputs}) != len(outputs):
        raise SeisfuseError(f"{args.output}: output, --clean and --fault-mask must be different files")
    for o in outputs:
        check_output(o, force=args.force)
    try:
        cfg = SynthConfig(inlines=args.inlines, crosslines=args.crosslines, samples=args.samples, dt_ms=args.dt,
                          freq_hz=args.freq, phase_deg=args.phase, faults=args.faults, noise=args.noise,
                          noise_kind=args.noise_kind, seed=args.seed)
    except ValueError as exc:
        raise SeisfuseError(f"{args.output}: {exc}") from None
    survey = make_survey(cfg)
    write_volume(args.output, survey.seismic, cfg, "seismic")
    if args.clean:
        write_volume(args.clean, survey.clean, cfg, "clean (noise-free)")
    if args.fault_mask:
        write_volume(args.fault_mask, survey.fault_mask, cfg, "fault mask")
    print(f"wrote {args.output}: {cfg.inlines} inlines x {cfg.crosslines} crosslines x {cfg.samples} samples "
          f"@ {cfg.dt_ms:g} ms, {cfg.faults} faults, {cfg.noise_kind} noise {cfg.noise:g}, seed {cfg.seed}")
    for extra in (args.clean, args.fault_mask):
        if extra:
            print(f"wrote {extra}")
    return 0
