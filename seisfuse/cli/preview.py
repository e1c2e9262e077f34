"""`seisfuse preview`: raw | edge (| fused | difference) panels of one section as PNG."""

from __future__ import annotations

import argparse

from seisfuse.cli.common import (
    add_config_args,
    add_header_args,
    add_model_arg,
    branch_settings,
    header_bytes,
    model_reads,
    parse_section,
)
from seisfuse.errors import SettingError


def add(sub) -> None:
    p = sub.add_parser("preview", help="draw raw | edge | fused | difference panels of a section as PNG",
                       description="Draw one section as PNG panels: the normalized raw branch, the edge branch, the "
                                   "fused section and fused - raw, with the shipped model or --ckpt's (and the edge "
                                   "branch it was trained with). --no-model or --config draws raw | edge only, with "
                                   "the default or the config's edge pipeline. Seismic colormap, axes in line numbers "
                                   "and time (ms) or depth.")
    p.add_argument("input", metavar="FILE.sgy")
    add_config_args(p)
    p.add_argument("--section", default=None, metavar="AXIS:K",
                   help="inline:K or crossline:K (line numbers) or time:T (ms); default: the middle inline")
    add_model_arg(p, "the model of the fused panels")
    p.add_argument("--no-model", action="store_true", help="raw | edge panels only")
    p.add_argument("--out", required=True, metavar="PANEL.png")
    p.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    add_header_args(p)
    p.set_defaults(func=run, accepts_overrides=True)


def run(args: argparse.Namespace) -> int:
    from seisfuse.branches import Branches
    from seisfuse.evaluation.views import read_view, view_extent
    from seisfuse.evaluation.viz import preview_figure, save_png
    from seisfuse.files import check_output
    from seisfuse.segy import open_volume

    check_output(args.out, [args.input, *model_reads(args), *args.config], force=args.force)
    if args.model and (args.config or args.overrides):
        raise SettingError("config", "previews an edge pipeline without a model; --model's model uses its own")
    settings = branch_settings(args)
    fuser, title = None, "fused"
    if not (args.no_model or args.config or args.overrides):
        from seisfuse.inference.fusers import load_fuser

        fuser = load_fuser(args.model, device="cpu")
        settings = fuser.settings
        title = f"fused ({fuser.name})"
    with open_volume(args.input, header_bytes(args)) as vol:
        view = parse_section(vol, args.section)
        branches = Branches.of_volume(settings, vol)
        section = read_view(vol, view)
        raw, edge = branches.pair(section)
        extent = view_extent(vol, view)
        heading = f"{vol.path.name} | {view.label} | edges: {branches.pipeline.describe()}"
    fused = fuser.fuse_stack(branches.stack(section)) if fuser is not None else None
    save_png(preview_figure(raw, edge, extent, heading, branches.pipeline.output, fused, title,
                            branches.normalizer.clip), args.out)
    print(f"wrote {args.out}: {view.label} of {args.input}")
    return 0
