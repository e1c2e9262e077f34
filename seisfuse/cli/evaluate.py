"""`seisfuse evaluate`: metric tables of fused volumes against their input (and a clean reference)."""

from __future__ import annotations

import argparse
import json

from seisfuse.cli.common import (
    add_config_args,
    add_header_args,
    add_model_arg,
    branch_settings,
    header_bytes,
    model_reads,
    positive_int,
)


def add(sub) -> None:
    p = sub.add_parser("evaluate", help="fusion metrics of fused volumes against their input",
                       description="Score fused volumes over a sample of sections: EN, SD, SF, AG, MI, Qabf, SCD, SSIM "
                                   "and PSNR to the raw and edge branches, VIF; with --clean and --fault-mask (synthetic "
                                   "data) also SSIM/PSNR/SNR/VIF to the clean volume, Qabf_clean and fault contrast. "
                                   "All volumes are normalized with the input's statistics. One row per fused file, "
                                   "one per classical denoiser (--classical), then the input itself and its edge branch "
                                   "(* marks the best); the verdict compares the first fused file with every other row.")
    p.add_argument("--input", required=True, metavar="IN.sgy")
    p.add_argument("--fused", required=True, metavar="OUT.sgy", help="a fused volume")
    p.add_argument("--compare", nargs="+", default=[], metavar="B.sgy", help="more fused volumes, one row each")
    add_config_args(p)
    add_model_arg(p, "take the edge branch settings from this model (default: --config's, or the default pipeline)")
    p.add_argument("--clean", default=None, metavar="CLEAN.sgy", help="noise-free volume (synthetic data)")
    p.add_argument("--fault-mask", default=None, metavar="MASK.sgy", help="fault mask (synthetic data)")
    p.add_argument("--classical", default="fast", metavar="NAMES",
                   help="classical denoisers scored as rows on the same sections, with their seconds per section: "
                        "fast (default: gaussian, median, bilateral, fxdecon), all (every installed one: the BM3D "
                        "family too, seconds to minutes per section), none, or a comma-separated list of names")
    p.add_argument("--axis", choices=["inline", "crossline"], default="inline")
    p.add_argument("--sections", type=positive_int, default=8, metavar="N", help="sections sampled evenly (default 8)")
    p.add_argument("--json", default=None, metavar="METRICS.json", help="also write all metrics as JSON")
    p.add_argument("--qc-panel", default=None, metavar="QC.png",
                   help="also draw the reference-free checks of the middle sampled section: input, each fused file, "
                        "what it removed, its leakage map, the spectra")
    p.add_argument("--force", action="store_true", help="overwrite an existing JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_header_args(p)
    p.set_defaults(func=run, accepts_overrides=True)


def run(args: argparse.Namespace) -> int:
    from seisfuse.errors import SettingError
    from seisfuse.evaluation.evaluate import classical_names, evaluate
    from seisfuse.files import atomic_output, check_outputs

    reads = [p for p in (args.input, args.fused, *args.compare, args.clean, args.fault_mask, *args.config) if p]
    check_outputs([args.json, args.qc_panel], [*reads, *model_reads(args)], force=args.force)
    try:
        classical = classical_names(args.classical)
    except ValueError as exc:
        raise SettingError("classical", str(exc)) from None
    if args.model:
        from seisfuse.inference.weights import load_model_file

        settings = load_model_file(args.model).branches
    else:
        settings = branch_settings(args)
    result = evaluate(args.input, [args.fused, *args.compare], settings, clean_path=args.clean,
                      fault_mask_path=args.fault_mask, axis=args.axis, n_sections=args.sections,
                      header_bytes=header_bytes(args), classical=classical, progress=not args.quiet)
    print(f"{args.input}: {len(result.sections)} {result.axis} sections, edges {settings.pipeline.describe()}")
    print(result.table())
    for line in [*result.verdict(), *result.field_summary()]:
        print(line)
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps(result.as_dict(), indent=2))
        print(f"wrote {args.json}")
    if args.qc_panel:
        _qc_panel(args, result)
    return 0


def _qc_panel(args: argparse.Namespace, result) -> None:  # noqa: ANN001 - an Evaluation
    """Draw the reference-free checks of the middle sampled section of the input and the fused files."""

    from seisfuse.branches import fit_normalizer
    from seisfuse.evaluation.views import qc_view_figure, section_view
    from seisfuse.evaluation.viz import distinct_titles, save_png
    from seisfuse.segy import open_volume

    paths = [args.input, args.fused, *args.compare]
    volumes = [open_volume(p, header_bytes(args)) for p in paths]
    try:
        view = section_view(volumes[0], result.axis, result.sections[len(result.sections) // 2])
        fig = qc_view_figure(volumes, distinct_titles(paths), view, fit_normalizer(volumes[0]))
    finally:
        for v in volumes:
            v.close()
    save_png(fig, args.qc_panel)
    print(f"wrote {args.qc_panel}")
