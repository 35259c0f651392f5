"""Training: the ColorGAN LightningModule and what runs beside it in a fit.

- ``module``: :class:`~colorgan.training.module.ColorGAN` (G and D, manual optimization, metrics)
- ``nonfinite``: steps with a NaN/inf loss or gradients are skipped on the device and counted
- ``loss_log``: the training losses, summed on the device and handed to Lightning when it writes logs
- ``sample_grid``: the fixed validation photos, colorized after every validation (PNG and W&B)
- ``grid``: picture grids (rows of photos with their names) and side-by-side comparisons, for every figure
- ``results``: what a test run leaves for comparisons (test metrics, per-photo scores, the first test photos
  colorized)
- ``skipped_photos``: the end-of-epoch report of unreadable photos
- ``loggers``: W&B (never prompts, keeps its run id on resume) and the CSV logger
- ``distributed``: which process is rank 0 before the Trainer exists, and the DDP set-ups adapted or refused early
"""
