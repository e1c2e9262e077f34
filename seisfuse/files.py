"""Safe output files: never overwrite an input, never leave a half-written file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from seisfuse.errors import file_error


def _same_file(a: Path, b: Path) -> bool:
    """True when two paths name the same file (symlinks and hard links included)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), force: bool = False) -> Path:
    """Validate an output path: not an input, not a folder, existing only with force."""
    out_path = Path(out)
    for src in inputs:
        src_path = Path(src)
        if out_path.resolve() == src_path.resolve() or _same_file(out_path, src_path):
            raise file_error(out_path, f"output is the input file {src_path}; choose another output name")
    if out_path.is_dir() and out_path.suffix.lower() != ".mdio":
        raise file_error(out_path, "output is a directory; give a file name")
    if out_path.exists() and not force:
        raise file_error(out_path, "output exists; pass --force to overwrite it")
    parent = out_path.parent if str(out_path.parent) else Path(".")
    if not parent.is_dir():
        raise file_error(out_path, f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise file_error(out_path, f"output folder {parent} is not writable")
    return out_path


def temp_path_for(out: str | os.PathLike, folder: bool = False) -> Path:
    """A new, unique temporary file (or folder) in the same folder as out."""
    out_path = Path(out)
    if folder:
        tmp = tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent or ".")
        os.chmod(tmp, 0o777 & ~_umask())
        return Path(tmp)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".part", dir=out_path.parent or ".")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes owner-only files; outputs get the usual permissions
    return Path(tmp)


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def finish_output(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Rename a finished temporary file (or folder) to its final name: data and rename made durable (fsync), so
    shared filesystems (Lustre, GPFS) never show a renamed but incomplete output."""
    tmp, out = Path(tmp), Path(out)
    for f in ([p for p in tmp.rglob("*") if p.is_file()] if tmp.is_dir() else [tmp]):
        with open(f, "rb+") as fh:
            os.fsync(fh.fileno())
    if tmp.is_dir() and out.is_dir():  # replacing a folder (--force): move the old one aside first
        old = temp_path_for(out, folder=True)
        os.rmdir(old)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened for fsync
        fd = os.open(Path(out).parent or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_part(path: str | os.PathLike) -> None:
    """Delete a temporary file or folder (an MDIO output), if it is still there."""
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_parts(out: str | os.PathLike) -> list[Path]:
    """Delete temporary files an interrupted run left beside out (.OUT.*.part); returns what was removed."""
    out_path = Path(out)
    stale = sorted(out_path.parent.glob(f".{out_path.name}.*.part"))
    for p in stale:
        remove_part(p)
    return stale


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside out; rename it to out (fsync'ed) on success, delete it on failure."""
    out_path = Path(out)
    tmp = temp_path_for(out_path)
    try:
        yield tmp
        finish_output(tmp, out_path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
