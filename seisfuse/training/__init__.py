"""Training: the LightningCLI, the LightningModule and its loss, callbacks, checkpoints, tracking, schedules, run folders."""
