"""`seisfuse compare`: the same section of several volumes side by side, on one colour scale."""

from __future__ import annotations

import argparse

from seisfuse.cli.common import add_header_args, header_bytes, parse_section


def add(sub) -> None:
    p = sub.add_parser("compare", help="the same section of several volumes side by side (one colour scale)",
                       description="Draw one panel per volume at the same section, all normalized with the first "
                                   "file's clip, so amplitudes compare directly (e.g. the input, the model's output "
                                   "and baselines). The volumes must share the first file's geometry.")
    p.add_argument("inputs", nargs="+", metavar="FILE.sgy")
    p.add_argument("--section", default=None, metavar="AXIS:K",
                   help="inline:K or crossline:K (line numbers) or time:T (ms); default: the middle inline")
    p.add_argument("--titles", nargs="+", default=None, metavar="TITLE",
                   help="panel titles (default: file names, with their folders where two names are the same)")
    p.add_argument("--qc", action="store_true",
                   help="reference-free checks instead: the first file is the input, the others denoised versions of "
                        "it; draws what each removed (same colour scale), the leakage of signal into it (local "
                        "similarity), the average spectra and the f-k spectrum of the removed noise")
    p.add_argument("--out", required=True, metavar="PANEL.png")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    add_header_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seisfuse.branches import fit_normalizer
    from seisfuse.errors import SettingError
    from seisfuse.evaluation.views import qc_view_figure, read_view, view_extent
    from seisfuse.evaluation.viz import compare_figure, distinct_titles, save_png
    from seisfuse.files import check_output
    from seisfuse.segy import check_same_geometry, open_volume

    check_output(args.out, args.inputs, force=args.force)
    titles = args.titles or distinct_titles(args.inputs)
    if len(titles) != len(args.inputs):
        raise SettingError("titles", f"{len(titles)} titles for {len(args.inputs)} files")
    volumes = [open_volume(p, header_bytes(args)) for p in args.inputs]
    try:
        for v in volumes[1:]:
            check_same_geometry(volumes[0], v)
        view = parse_section(volumes[0], args.section)
        norm = fit_normalizer(volumes[0])
        if args.qc:
            if len(volumes) < 2 or view.axis == "time":
                raise SettingError("qc", "needs the input and at least one denoised volume, on an inline or crossline")
            fig = qc_view_figure(volumes, titles, view, norm)
        else:
            images = [norm.forward(read_view(v, view)) for v in volumes]
            fig = compare_figure(images, titles, view_extent(volumes[0], view),
                                 f"{view.label} | one colour scale: {volumes[0].path.name}'s clip", clip=norm.clip)
    finally:
        for v in volumes:
            v.close()
    save_png(fig, args.out)
    print(f"wrote {args.out}: {view.label} of {len(volumes)} volumes")
    return 0
