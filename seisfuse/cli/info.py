"""`seisfuse info`: describe a SEG-Y file (format, geometry, ranges, amplitudes, text header)."""

from __future__ import annotations

import argparse
import json
import re

from seisfuse.cli.common import add_header_args, header_bytes


def add(sub) -> None:
    p = sub.add_parser("info", help="describe a SEG-Y file",
                       description="Describe a SEG-Y file: sample format, byte order, sorting or 2D/unstructured, line "
                                   "ranges, traces, samples, sample interval, dead traces, amplitude statistics from a "
                                   "sample of traces, and the text header.")
    p.add_argument("input", metavar="FILE.sgy")
    add_header_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--no-text-header", action="store_true", help="leave the text header out")
    p.add_argument("--no-scan", action="store_true",
                   help="skip the full read that counts dead traces and NaN/Inf samples (for very large files)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from seisfuse.normalize import stats_of_traces
    from seisfuse.segy import describe, open_volume

    with open_volume(args.input, header_bytes(args)) as vol:
        info = describe(vol, scan=not args.no_scan)
        info["amplitudes"] = stats_of_traces(vol.sample_traces(), vol.path).as_dict()
    if args.no_text_header:
        info.pop("text_header")
        info.pop("extended_text", None)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(format_info(info))
    return 0


def format_info(info: dict) -> str:
    """The info report as aligned text lines."""
    info = dict(info)
    text = info.pop("text_header", None)
    extended = info.pop("extended_text", [])
    amps = info.pop("amplitudes")
    width = max(len(k) for k in info)
    lines = []
    for key, value in info.items():
        if isinstance(value, list) and len(value) == 3 and key in ("inlines", "crosslines", "traces_keys"):
            value = f"{value[0]}..{value[1]} ({value[2]})"
        lines.append(f"{key.replace('_', ' '):<{width}}  {value}")
    pct = ", ".join(f"{k} {v:.4g}" for k, v in amps["abs_percentiles"].items())
    lines.append(f"{'amplitudes':<{width}}  min {amps['minimum']:.4g}, max {amps['maximum']:.4g}, "
                 f"mean {amps['mean']:.4g}, rms {amps['rms']:.4g} over {amps['traces_sampled']} sampled traces")
    lines.append(f"{'|amplitude|':<{width}}  {pct}")
    for title, block in [("text header", text)] + [(f"extended text header {i + 1}", t) for i, t in enumerate(extended)]:
        if not block:
            continue
        lines.append(f"{title}:")
        blank = 0
        for i in range(0, len(block), 80):
            line = block[i:i + 80].rstrip()
            if not re.sub(r"^C\s*\d+", "", line.strip("\x00 ")).strip():  # "C23" alone: a card with nothing on it
                blank += 1
                continue
            lines.append(f"  {line}")
        if blank:
            lines.append(f"  ({blank} empty card{'s' if blank > 1 else ''} not shown)")
    return "\n".join(lines)
