"""The life of an output volume: created as a copy of its source under a temporary name, written, then finished
(fsync'ed and renamed to its final name) or abandoned (removed), so that no half-written volume ever carries the
final name. The process that created the temporary copy owns it; other ranks attach to it and write their traces.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from seisfuse.files import finish_output, remove_part, remove_stale_parts, temp_path_for
from seisfuse.segy.grid import GridVolume, WritableVolume


class OutputFile:
    """An output being written: a copy of `source` at `tmp`, to become `final`."""

    def __init__(self, source: GridVolume, final: str | os.PathLike, tmp: str | os.PathLike, owner: bool,
                 volume: WritableVolume | None = None) -> None:
        self.source = source
        self.final = Path(final)
        self.tmp = Path(tmp)
        self.owner = owner
        self._volume = volume

    @classmethod
    def create(cls, source: GridVolume, final: str | os.PathLike) -> OutputFile:
        """Copy source to a new temporary name beside final (parts that dead runs left there are removed first)."""
        source.check_output_name(final)
        remove_stale_parts(final)
        tmp = temp_path_for(final, folder=source.is_folder)
        try:
            volume = source.create_copy(tmp)
        except BaseException:
            remove_part(tmp)
            raise
        return cls(source, final, tmp, owner=True, volume=volume)

    @classmethod
    def attach(cls, source: GridVolume, final: str | os.PathLike, tmp: str | os.PathLike) -> OutputFile:
        """The output another rank created, to write this rank's share into."""
        return cls(source, final, tmp, owner=False)

    @property
    def volume(self) -> WritableVolume:
        """The temporary copy, open for writing (opened on first use in this process)."""
        if self._volume is None:
            self._volume = self.source.open_copy(self.tmp)
        return self._volume

    def close(self) -> None:
        """Flush and close the copy (it stays under its temporary name)."""
        if self._volume is not None:
            self._volume.close()
            self._volume = None

    def finish(self) -> Path:
        """Close; the owner makes the copy durable and gives it its final name."""
        self.close()
        if self.owner:
            finish_output(self.tmp, self.final)
        return self.final

    def abandon(self) -> None:
        """Close and, if this process owns it, remove the temporary copy."""
        with contextlib.suppress(Exception):
            self.close()
        self._volume = None
        if self.owner:
            remove_part(self.tmp)
