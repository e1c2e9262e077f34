"""Progress of long work, with an ETA: a bar on a terminal, plain lines elsewhere (SLURM .out files, pipes, CI logs)."""

from __future__ import annotations

import sys
import time
from typing import IO, Any


def format_seconds(seconds: float) -> str:
    """h:mm:ss, or m:ss under an hour."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts work done out of a total; on a terminal a tqdm bar, otherwise a line with the rate and ETA at most every
    `every_s` seconds (and at the end). Disabled, it prints nothing."""

    def __init__(self, total: int, label: str, unit: str = "item", every_s: float = 10.0, enabled: bool = True,
                 stream: IO[str] | None = None) -> None:
        self.total, self.label, self.unit, self.every_s = int(total), label, unit, every_s
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = self.last = time.perf_counter()
        self.bar: Any = None
        self.enabled = enabled and self.total > 0
        if self.enabled and self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=label, unit=unit, leave=False, file=self.stream)

    def eta(self) -> float:
        """Seconds left at the rate so far (0 when done or not started)."""
        elapsed = time.perf_counter() - self.start
        return (self.total - self.done) * elapsed / self.done if 0 < self.done < self.total else 0.0

    def line(self) -> str:
        """The plain progress line: label, count, share, rate and ETA."""
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        tail = f", ETA {format_seconds(self.eta())}" if self.done < self.total else f" in {format_seconds(elapsed)}"
        return (f"{self.label}: {self.done}/{self.total} {self.unit}s ({100 * self.done / self.total:.0f}%, "
                f"{rate:.2f}/s{tail})")

    def update(self, n: int = 1) -> None:
        """n more items done."""
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar (a terminal) or print the last line if it was not printed."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
