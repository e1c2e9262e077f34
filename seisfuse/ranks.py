"""Which process this is among the ranks of a job: the one definition seisfuse uses for "rank zero"."""

from __future__ import annotations

import os

#: Environment variables that carry a process's global rank, in the order Lightning reads them.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


def global_rank() -> int:
    """This process's global rank (0 outside distributed jobs)."""
    for name in RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None:
            return int(value)
    return 0


def is_global_zero() -> bool:
    """True on the process that prints summaries and finishes shared outputs."""
    return global_rank() == 0
