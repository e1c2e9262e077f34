"""Safe output files: never overwrite an input, never leave a half-written file."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from seisfuse.errors import SeisfuseError, file_error


def expand_paths(items: str | Sequence[str] | None, what: str, must_exist: bool = False) -> list[str]:
    """Paths with glob patterns expanded (sorted); a pattern that matches nothing is an error naming `what`."""
    if items is None:
        return []
    out: list[str] = []
    for item in [items] if isinstance(items, str) else list(items):
        item = str(item)
        if any(c in item for c in "*?[") and not os.path.exists(item):
            hits = sorted(glob.glob(item))
            if not hits:
                raise SeisfuseError(f"{item}: {what} pattern matches no files")
            out += hits
        elif must_exist and not Path(item).exists():
            raise file_error(item, f"no such file ({what})")
        else:
            out.append(item)
    return out


def _same_file(a: Path, b: Path) -> bool:
    """True when two paths name the same file (symlinks and hard links included)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), force: bool = False,
                 first_is_input: bool = True) -> Path:
    """Validate an output path: none of the files the command reads (inputs first, then checkpoints, references,
    configs; compared as resolved paths and inodes, so links and ../ are caught, --force or not), not a folder,
    existing only with force."""
    out_path = Path(out)
    for i, src in enumerate(inputs):
        src_path = Path(src)
        if out_path.resolve() == src_path.resolve() or _same_file(out_path, src_path):
            what = "the input file" if i == 0 and first_is_input else "a file this command reads:"
            raise file_error(out_path, f"output is {what} {src_path}; choose another output name")
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


def check_outputs(outs: Sequence[str | os.PathLike | None], inputs: Sequence[str | os.PathLike] = (),
                  force: bool = False, first_is_input: bool = True) -> list[Path]:
    """check_output for each of a command's outputs (None: not asked for), none of them the same file as another
    output of the command nor any file it reads, --force or not."""
    given = [Path(o) for o in outs if o]
    for i, out in enumerate(given):
        for other in given[:i]:
            if out.resolve() == other.resolve() or _same_file(out, other):
                raise file_error(out, f"is also another output of this command ({other}); choose distinct names")
    return [check_output(o, inputs, force=force, first_is_input=first_is_input) for o in given]


def _owner_tag() -> str:
    """host and process id, as a temporary name carries them: whoever finds the part can tell if its owner lives."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname()) or "host"
    return f"{host}~{os.getpid()}~"


def _owner_alive(part: Path) -> bool:
    """False only when the part was made on this host by a process that is gone (other hosts' parts: assumed alive)."""
    body = part.name.split(".part")[0]
    fields = body.split("~")
    if len(fields) < 3:
        return False  # no owner recorded (an older seisfuse): stale
    host, pid = fields[-3].rsplit(".", 1)[-1], fields[-2]
    if host != _owner_tag().split("~")[0] or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def final_name(path: str | os.PathLike) -> Path:
    """The output a temporary part is for (.OUT.host~pid~xyz.part -> OUT); any other path as it is."""
    p = Path(path)
    name = p.name
    if not (name.startswith(".") and name.endswith(".part") and name.count("~") >= 2):
        return p
    return p.with_name(name[1:-len(".part")].rsplit("~", 2)[0].rsplit(".", 1)[0])


def temp_path_for(out: str | os.PathLike, folder: bool = False) -> Path:
    """A new, unique temporary file (or folder) beside out, named for its owner (host and process id)."""
    out_path = Path(out)
    prefix = f".{out_path.name}.{_owner_tag()}"
    if folder:
        tmp = tempfile.mkdtemp(prefix=prefix, suffix=".part", dir=out_path.parent or ".")
        os.chmod(tmp, 0o777 & ~_umask())
        return Path(tmp)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=out_path.parent or ".")
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
    """Delete temporary files that dead runs left beside out (.OUT.*.part); a live run's part is never touched."""
    out_path = Path(out)
    stale = [p for p in sorted(out_path.parent.glob(f".{out_path.name}.*.part")) if not _owner_alive(p)]
    for p in stale:
        remove_part(p)
    return stale


#: What torch.save's C++ writer says when a write fails (a full disk or quota), instead of an OSError.
_TORCH_WRITE_FAILED = ("enforce fail at inline_container", "unexpected pos", "file write failed")


def _write_failure(exc: BaseException, folder: Path) -> int | None:
    """The errno of a write that failed (checked before the partial file is removed): ENOSPC for a full disk, also
    when torch's C++ writer reports it in its own words; EIO for another failed torch write; None otherwise."""
    if isinstance(exc, OSError):
        return exc.errno if exc.errno in (errno.ENOSPC, errno.EDQUOT) else None
    if isinstance(exc, RuntimeError) and any(m in str(exc) for m in _TORCH_WRITE_FAILED):
        try:
            return errno.ENOSPC if shutil.disk_usage(folder).free < 1 << 20 else errno.EIO
        except OSError:
            return errno.EIO
    return None


@contextlib.contextmanager
def atomic_output(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside out; rename it to out (fsync'ed) on success, delete it on failure. A failed write
    names the output (not the temporary file, nor nothing): a full disk becomes ENOSPC on out, whatever wrote it."""
    out_path = Path(out)
    tmp = temp_path_for(out_path)
    try:
        yield tmp
        finish_output(tmp, out_path)
    except BaseException as exc:
        failure = _write_failure(exc, out_path.parent or Path("."))
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if failure is not None:
            raise OSError(failure, os.strerror(failure), str(out_path)) from None
        if isinstance(exc, OSError) and (not exc.filename or str(exc.filename) == str(tmp)):
            raise OSError(exc.errno, exc.strerror or str(exc), str(out_path)) from None
        raise
