"""Learning-rate schedules that the config injects into FusionModule (`model.scheduler: {class_path, init_args}`).

Each is built as ``schedule(optimizer, total_steps)`` when training starts (total_steps is the
trainer's estimate of optimizer steps), and says how Lightning steps it (`interval`) and what
it watches (`monitor`). Any torch scheduler fits the same slot through a subclass taking
those two arguments first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau

#: What `model.scheduler` holds: a class called with (optimizer, total_steps) and its other arguments from the config.
ScheduleCallable = Callable[[Optimizer, int], LRScheduler | ReduceLROnPlateau]


class WarmupCosine(LambdaLR):
    """Linear warm-up from lr / warmup_steps to lr, then cosine down to min_lr_ratio x lr at the last step."""

    interval: ClassVar[str] = "step"
    monitor: ClassVar[str | None] = None

    def __init__(self, optimizer: Optimizer, total_steps: int, warmup_steps: int = 100,
                 min_lr_ratio: float = 0.01) -> None:
        """
        Args:
            optimizer: the optimizer whose groups' learning rates are scaled.
            total_steps: optimizer steps of the whole run.
            warmup_steps: steps of linear warm-up.
            min_lr_ratio: final learning rate relative to each group's initial one.
        """
        if warmup_steps < 0 or not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"warmup_steps must be >= 0 and min_lr_ratio in [0, 1], got {warmup_steps}, {min_lr_ratio}")
        total = max(1, int(total_steps))
        warmup = min(warmup_steps, max(total - 1, 0))
        self.total_steps, self.warmup_steps, self.min_lr_ratio = total, warmup, min_lr_ratio

        def factor(step: int) -> float:
            if warmup > 1 and step < warmup:
                return (step + 1) / warmup
            span = max(1, total - warmup)
            progress = min(1.0, (step - warmup) / span)
            return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

        super().__init__(optimizer, factor)


class Plateau(ReduceLROnPlateau):
    """Cut the learning rate by `factor` after `patience` epochs without a better val/score (higher is better)."""

    interval: ClassVar[str] = "epoch"
    monitor: ClassVar[str | None] = "val/score"

    def __init__(self, optimizer: Optimizer, total_steps: int, factor: float = 0.5, patience: int = 5) -> None:
        """
        Args:
            optimizer: the optimizer whose groups' learning rates are cut.
            total_steps: unused (every schedule takes it).
            factor: factor of each cut.
            patience: epochs without improvement before a cut.
        """
        super().__init__(optimizer, mode="max", factor=factor, patience=patience)


class Constant(LambdaLR):
    """No schedule: the optimizer's learning rates throughout."""

    interval: ClassVar[str] = "step"
    monitor: ClassVar[str | None] = None

    def __init__(self, optimizer: Optimizer, total_steps: int) -> None:
        super().__init__(optimizer, lambda step: 1.0)
