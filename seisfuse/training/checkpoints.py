"""Training checkpoints that survive a kill: written atomically, read weights-only, chosen for a resume.

* :class:`AtomicCheckpointIO` (every `seisfuse fit` uses it): a checkpoint is saved under a
  temporary name in its folder, fsync'ed and renamed, so a job killed while saving (or a full
  quota) never leaves a truncated file under a checkpoint's name.
* :func:`check_resumable`: before Lightning restores a checkpoint (`--ckpt_path`), seisfuse
  reads it itself with ``torch.load(weights_only=True)``, whatever torch and Lightning
  versions are installed (at the lowest supported ones torch's default still unpickles code);
  a truncated or unreadable file is reported in one line and the newest intact checkpoint of
  the same run folder is used instead.
* :func:`hpc_checkpoint_path`: where a SLURM job saves before it stops, named as Lightning
  looks for it when the requeued job starts (``RUN/hpc_ckpt_<n>.ckpt``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from seisfuse.errors import file_error
from seisfuse.files import finish_output, remove_part, temp_path_for
from seisfuse.inference.weights import read_weights_only

log = logging.getLogger("seisfuse")
HPC_NAME = re.compile(r"hpc_ckpt_(\d+)\.ckpt$")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO, each file written under a temporary name, fsync'ed, then renamed; and every
    checkpoint Lightning restores (--ckpt_path, and a requeued SLURM job's own HPC checkpoint, which Lightning finds
    by itself) read weights-only, a damaged one replaced by the newest intact checkpoint of its run, with a note."""

    def load_checkpoint(self, path: str | os.PathLike, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return load_resumable(path)[1]

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None) -> None:
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path_for(final)
        try:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            finish_output(tmp, final)
        except BaseException:
            remove_part(tmp)
            raise


def load_weights_only(path: str | os.PathLike) -> dict[str, Any]:
    """A training checkpoint read with torch's safe unpickler (no code runs), or a one-line error naming the file."""
    data = read_weights_only(path, "checkpoint")
    if not isinstance(data, dict) or "state_dict" not in data:
        raise file_error(path, "not a Lightning checkpoint (no state_dict)")
    return data


def _candidates(folder: Path) -> list[Path]:
    """Checkpoints of a run folder (its checkpoints/ and Lightning's HPC saves), newest first."""
    found = [*folder.glob("checkpoints/*.ckpt"), *folder.glob("hpc_ckpt_*.ckpt")]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime_ns, reverse=True)


def run_folder_of(path: str | os.PathLike) -> Path:
    """The run folder of a checkpoint: RUN/checkpoints/*.ckpt and Lightning's RUN/hpc_ckpt_<n>.ckpt both belong to
    RUN."""
    path = Path(path)
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def load_resumable(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """The checkpoint to resume and its contents: path itself if it loads weights-only, else the newest intact one of
    its run folder (with a note); a one-line error naming the file when there is none."""
    path = Path(path)
    try:
        return path, load_weights_only(path)
    except Exception as exc:
        folder = run_folder_of(path)
        for other in _candidates(folder):
            if other.resolve() == path.resolve():
                continue
            try:
                data = load_weights_only(other)
            except Exception:  # noqa: BLE001 - try the next one
                continue
            log.warning("%s; resuming from %s, the newest intact checkpoint of the run", exc, other)
            return other, data
        raise file_error(path, f"{str(exc).split(': ', 1)[-1]}; no intact checkpoint in {folder} to resume "
                               "from instead") from None


def check_resumable(path: str | os.PathLike) -> Path:
    """The checkpoint to resume: path itself if it loads weights-only, else the newest intact one of its run folder."""
    return load_resumable(path)[0]


def hpc_checkpoint_path(folder: str | os.PathLike) -> Path:
    """RUN/hpc_ckpt_<n>.ckpt, one more than the highest there: the file a requeued SLURM job resumes from."""
    folder = Path(folder)
    numbers = [int(m.group(1)) for p in folder.glob("hpc_ckpt_*.ckpt") if (m := HPC_NAME.search(p.name))]
    return folder / f"hpc_ckpt_{max(numbers, default=0) + 1}.ckpt"
