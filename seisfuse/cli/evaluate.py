"""`seisfuse evaluate`: metric tables of fused volumes against their input (and a clean reference)."""

from __future__ import annotations

import argparse
import json

from seisfuse.cli.common import add_config_args, add_header_args, branch_settings, header_bytes


def add(sub) -> None:
    p = sub.add_parser("evaluate", help="fusion metrics of fused volumes against their input",
                       description="Score fused volumes over a sample of sections: EN, SD, SF, AG, MI, Qabf, SCD, SSIM "
                                   "and PSNR to the raw and edge branches, VIF; with --clean and --fault-mask (synthetic "
                                   "data) also SSIM/PSNR/SNR/VIF to the clean volume, Qabf_clean and fault contrast. "
                                   "All volumes are normalized with the input's statistics. One row per fused file, "
                                   "then the input itself and its edge branch (* marks the best); the verdict compares "
                                   "the first fused file with every other row.")
    p.add_argument("--input", required=True, metavar="IN.sgy")
    p.add_argument("--fused", required=True, metavar="OUT.sgy", help="a fused volume")
    p.add_argument("--compare", nargs="+", default=[], metavar="B.sgy", help="more fused volumes, one row each")
    add_config_args(p)
    p.add_argument("--ckpt", default=None, metavar="CKPT", help="take the edge branch settings from a checkpoint")
    p.add_argument("--clean", default=None, metavar="CLEAN.sgy", help="noise-free volume (synthetic data)")
    p.add_argument("--fault-mask", default=None, metavar="MASK.sgy", help="fault mask (synthetic data)")
    p.add_argument("--axis", choices=["inline", "crossline"], default="inline")
    p.add_argument("--sections", type=int, default=8, metavar="N", help="sections sampled evenly (default 8)")
    p.add_argument("--json", default=None, metavar="METRICS.json", help="also write all metrics as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing JSON file")
    add_header_args(p)
    p.set_defaults(func=run, accepts_overrides=True)


def run(args: argparse.Namespace) -> int:
    from seisfuse.evaluate import evaluate
    from seisfuse.files import atomic_output, check_output

    if args.json:
        check_output(args.json, [args.input, args.fused, *args.compare], force=args.force)
    if args.ckpt:
        from seisfuse.fusers import load_fuser

        settings = load_fuser(args.ckpt).settings
    else:
        settings = branch_settings(args)
    result = evaluate(args.input, [args.fused, *args.compare], settings, clean_path=args.clean,
                      fault_mask_path=args.fault_mask, axis=args.axis, n_sections=args.sections,
                      header_bytes=header_bytes(args))
    print(f"{args.input}: {len(result.sections)} {result.axis} sections, edges {settings.pipeline.describe()}")
    print(result.table())
    for line in result.verdict():
        print(line)
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(result.as_dict(), indent=2))
        print(f"wrote {args.json}")
    return 0
