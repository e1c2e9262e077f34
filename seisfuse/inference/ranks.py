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


class Ranks:
    """This process's place among the ranks of a job: one process, nothing to coordinate."""

    rank = 0
    world_size = 1

    @property
    def is_zero(self) -> bool:
        """True on rank zero."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank."""

    def broadcast(self, obj: object) -> object:
        """Rank zero's value of obj, on every rank."""
        return obj


class FabricRanks(Ranks):
    """Ranks joined by Lightning Fabric: processes it launches on this node, or (slurm) the tasks srun started."""

    def __init__(self, accelerator: str, devices: int, num_nodes: int = 1, slurm: bool = False,
                 verbose: bool = False) -> None:
        import logging

        from lightning.fabric import Fabric
        from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

        if not verbose:  # Lightning sets its loggers to INFO when imported: its launch banner only on request
            for name in ("lightning.fabric", "lightning.pytorch", "lightning_fabric"):
                logging.getLogger(name).setLevel(logging.WARNING)

        # without slurm, one command launches its own ranks, also inside an sbatch job that has several tasks
        plugins = [SLURMEnvironment(auto_requeue=False)] if slurm else [LightningEnvironment()]
        self.fabric = Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy="ddp",
                             plugins=plugins)
        self.fabric.launch()
        self.rank = self.fabric.global_rank
        self.world_size = self.fabric.world_size
        self.device = self.fabric.device

    def barrier(self) -> None:
        self.fabric.barrier()

    def broadcast(self, obj: object) -> object:
        return self.fabric.broadcast(obj, src=0)
