"""SEG-Y layout: sample formats, header sizes, the file header's byte order and format, textual headers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from segyio import SegySampleFormat as Fmt

from seisfuse.errors import file_error

#: sample format code -> (name, numpy dtype without byte order, bytes per sample), for the formats segyio decodes
FORMATS: dict[int, tuple[str, str, int]] = {
    int(Fmt.IBM_FLOAT_4_BYTE): ("4-byte IBM float", "f4", 4),
    int(Fmt.SIGNED_INTEGER_4_BYTE): ("4-byte signed integer", "i4", 4),
    int(Fmt.SIGNED_SHORT_2_BYTE): ("2-byte signed integer", "i2", 2),
    int(Fmt.IEEE_FLOAT_4_BYTE): ("4-byte IEEE float", "f4", 4),
    int(Fmt.IEEE_FLOAT_8_BYTE): ("8-byte IEEE float", "f8", 8),
    int(Fmt.SIGNED_CHAR_1_BYTE): ("1-byte signed integer", "i1", 1),
    int(Fmt.SIGNED_INTEGER_8_BYTE): ("8-byte signed integer", "i8", 8),
    int(Fmt.UNSIGNED_INTEGER_4_BYTE): ("4-byte unsigned integer", "u4", 4),
    int(Fmt.UNSIGNED_SHORT_2_BYTE): ("2-byte unsigned integer", "u2", 2),
    int(Fmt.UNSIGNED_INTEGER_8_BYTE): ("8-byte unsigned integer", "u8", 8),
    int(Fmt.UNSIGNED_CHAR_1_BYTE): ("1-byte unsigned integer", "u1", 1),
}
UNSUPPORTED_FORMATS = {int(Fmt.FIXED_POINT_WITH_GAIN_4_BYTE): "4-byte fixed point with gain",
                       int(Fmt.SIGNED_CHAR_3_BYTE): "3-byte signed integer",
                       int(Fmt.UNSIGNED_INTEGER_3_BYTE): "3-byte unsigned integer"}
IBM_FLOAT = int(Fmt.IBM_FLOAT_4_BYTE)
IEEE_FLOAT = int(Fmt.IEEE_FLOAT_4_BYTE)
FLOAT_FORMATS = {IBM_FLOAT, IEEE_FLOAT, int(Fmt.IEEE_FLOAT_8_BYTE)}

TEXT_HEADER_BYTES = 3200
BINARY_HEADER_BYTES = 400
TRACE_HEADER_BYTES = 240
FILE_HEADER_BYTES = TEXT_HEADER_BYTES + BINARY_HEADER_BYTES
MEASUREMENT_SYSTEM_OFFSET = 54  # in the binary header: file bytes 3255-3256, 1 meters, 2 feet
EXT_HEADERS_OFFSET = 304  # in the binary header: file bytes 3505-3506 (SEG-Y rev 1)
END_TEXT = "((SEG:ENDTEXT))"


@dataclass(frozen=True)
class FileHeader:
    """What the 3600-byte file header says about the layout of the traces."""

    endian: str
    format: int
    n_samples: int
    ext_headers: int


def read_file_header(path: Path) -> FileHeader:
    """Check that path looks like SEG-Y and detect its byte order and sample format."""
    if not path.exists():
        raise file_error(path, "no such file")
    if path.is_dir():
        raise file_error(path, "is a directory, not a SEG-Y file")
    size = path.stat().st_size
    if size < FILE_HEADER_BYTES:
        raise file_error(path, f"not a SEG-Y file: {size} bytes, smaller than the {FILE_HEADER_BYTES}-byte file header")
    with open(path, "rb") as fh:
        head = fh.read(FILE_HEADER_BYTES)
    binary = head[TEXT_HEADER_BYTES:]
    known = set(FORMATS) | set(UNSUPPORTED_FORMATS)
    for endian in ("big", "little"):
        fmt = int.from_bytes(binary[24:26], endian, signed=False)
        if fmt in known:
            break
    else:
        fmt_be = int.from_bytes(binary[24:26], "big")
        raise file_error(path, f"not a SEG-Y file: binary header sample format code {fmt_be} is not a SEG-Y format")
    if fmt in UNSUPPORTED_FORMATS:
        raise file_error(path, f"sample format {fmt} ({UNSUPPORTED_FORMATS[fmt]}) is not supported; convert the file to IEEE or IBM float")
    n_samples = int.from_bytes(binary[20:22], endian)
    # SEG-Y rev 1: number of 3200-byte extended textual headers at file bytes 3505-3506; -1: a variable number,
    # ended by a header holding the ((SEG: EndText)) stanza
    ext = int.from_bytes(binary[EXT_HEADERS_OFFSET:EXT_HEADERS_OFFSET + 2], endian, signed=True)
    if ext < 0:
        ext = _count_variable_ext_headers(path, size)
    if size <= FILE_HEADER_BYTES + ext * TEXT_HEADER_BYTES:
        raise file_error(path, "SEG-Y file contains no traces")
    return FileHeader(endian, fmt, n_samples, ext)


def _count_variable_ext_headers(path: Path, size: int) -> int:
    """Extended textual headers up to and including the one with the ((SEG: EndText)) stanza."""
    with open(path, "rb") as fh:
        fh.seek(FILE_HEADER_BYTES)
        for n in range(1, (size - FILE_HEADER_BYTES) // TEXT_HEADER_BYTES + 1):
            block = fh.read(TEXT_HEADER_BYTES)
            if END_TEXT in decode_text_header(block).replace(" ", "").upper():
                return n
    raise file_error(path, "binary header announces a variable number of extended textual headers, but no "
                           "((SEG: EndText)) stanza ends them")


def read_extended_text_headers(path: Path, count: int) -> list[str]:
    """The extended textual headers (3200 bytes each after the binary header), decoded as text."""
    with open(path, "rb") as fh:
        fh.seek(FILE_HEADER_BYTES)
        return [decode_text_header(fh.read(TEXT_HEADER_BYTES)) for _ in range(count)]


def decode_text_header(raw: bytes) -> str:
    """Decode a textual header as ASCII or EBCDIC (cp500), whichever reads as more plain text."""
    def plain(t: str) -> int:
        return sum(c.isascii() and (c.isalnum() or c == " ") for c in t)

    text = max(raw.decode("latin-1"), raw.decode("cp500"), key=plain)
    return "".join(c if c.isprintable() else " " for c in text)


def copy_as_ieee(src: str | os.PathLike, dst: str | os.PathLike, fmt: int, endian: str, data_offset: int,
                 n_samples: int, n_traces: int, chunk: int = 8192) -> None:
    """Write a copy of an integer-format SEG-Y file with IEEE float samples and format code 5; headers kept."""
    e = ">" if endian == "big" else "<"
    with open(src, "rb") as fh:
        head = bytearray(fh.read(data_offset))
    head[TEXT_HEADER_BYTES + 24: TEXT_HEADER_BYTES + 26] = IEEE_FLOAT.to_bytes(2, endian)
    src_dt = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", e + FORMATS[fmt][1], (n_samples,))])
    dst_dt = np.dtype([("h", f"V{TRACE_HEADER_BYTES}"), ("d", e + "f4", (n_samples,))])
    src_mm = np.memmap(src, dtype=src_dt, mode="r", offset=data_offset, shape=(n_traces,))
    with open(dst, "wb") as out:
        out.write(head)
        for a in range(0, n_traces, chunk):
            block = src_mm[a: a + chunk]
            conv = np.empty(len(block), dtype=dst_dt)
            conv["h"] = block["h"]
            conv["d"] = block["d"]
            out.write(conv.tobytes())
    del src_mm
