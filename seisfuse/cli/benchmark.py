"""`seisfuse benchmark`: the semi-real protocol on real SEG-Y files (seeded noise added, originals as reference)."""

from __future__ import annotations

import argparse
import json
import tempfile

from seisfuse.cli.common import add_model_arg, model_reads


def add(sub) -> None:
    p = sub.add_parser("benchmark", help="semi-real protocol: add seeded noise to real files, fuse, score vs originals",
                       description="For each real SEG-Y file and noise kind: write a noisy copy (seeded noise at "
                                   "--ratio x the signal RMS: white, or band-limited 10-40 Hz), fuse it with the model "
                                   "(the shipped one by default) through the predict path, and score SSIM, PSNR and "
                                   "SNR dB of every section against the original, with each row's seconds per section. "
                                   "Rows: the model, the noisy input, every installed classical denoiser with its "
                                   "parameters tuned on synthetic training data (gaussian, median, bilateral, fxdecon; "
                                   "bm3d and bm3d-psd with the noise estimated from the data, with the baselines extra), "
                                   "and oracle rows no user could run: each cheap denoiser's best setting on that very "
                                   "file, and BM3D given the true noise. Prints a table and a verdict per case (oracles "
                                   "aside); --json writes everything.")
    p.add_argument("--input", required=True, nargs="+", metavar="REAL.sgy")
    add_model_arg(p, "the model scored")
    p.add_argument("--noise", default="white,band", metavar="KINDS",
                   help="noise kinds, comma-separated: white, band, lateral, bursts (default white,band)")
    p.add_argument("--ratio", default="0.5", metavar="R[,R...]",
                   help="noise RMS / signal RMS, one or several comma-separated (default 0.5)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="noise seed (default 0)")
    p.add_argument("--workdir", default=None, metavar="DIR", help="keep the noisy and fused files here")
    p.add_argument("--json", default=None, metavar="B.json", help="also write the results as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing JSON file")
    p.add_argument("--num-workers", type=int, default=0, metavar="N")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seisfuse.errors import SettingError
    from seisfuse.evaluation.benchmark import as_dict, check_ratios, semi_real, table
    from seisfuse.files import atomic_output, check_output
    from seisfuse.inference.fusers import load_fuser
    from seisfuse.inference.predict import PredictOptions

    if args.json:
        check_output(args.json, [*args.input, *model_reads(args)], force=args.force)
    try:
        ratios = check_ratios(tuple(float(r) for r in args.ratio.split(",") if r.strip()))
    except ValueError:
        raise SettingError("ratio", f"{args.ratio!r}: use numbers, e.g. 0.5 or 0.3,0.5,1") from None
    fuser = load_fuser(args.model)
    kinds = tuple(k.strip() for k in args.noise.split(",") if k.strip())
    with tempfile.TemporaryDirectory(prefix="seisfuse-benchmark-") as tmp:
        cases = semi_real(fuser, args.input, args.workdir or tmp, kinds=kinds, ratios=ratios, seed=args.seed,
                          options=PredictOptions(num_workers=args.num_workers), progress=True)
    print(f"model: {fuser.name}; {fuser.settings.describe()}")
    print(table(cases))
    if args.json:
        with atomic_output(args.json) as out:
            out.write_text(json.dumps(as_dict(cases), indent=2))
        print(f"wrote {args.json}")
    return 0
