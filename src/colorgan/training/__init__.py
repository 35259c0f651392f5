"""Training: the ColorGAN LightningModule and what runs beside it in a fit.

- ``module``: :class:`~colorgan.training.module.ColorGAN` (G and D, manual optimization: the D step and the G step)
- ``settings``: the ``model.*`` settings checked against each other and kept as primitives for the checkpoint
- ``scoring``: validation and test (the scores, the gray baseline, FID, each test photo's own scores)
- ``init_from``: a new run that starts from the networks of another run's checkpoint (``model.init_from``)
- ``ema``: the generator's moving average, updated on the device after each generator step
- ``lr_schedule``: Pix2Pix's learning-rate decay over the last epochs, fitted to a resumed run
- ``hints``: colour hints drawn from the truth for every training batch
- ``nonfinite``: steps with a NaN/inf loss or gradients are skipped on the device and counted
- ``loss_log``: the training losses, summed on the device and handed to Lightning when it writes logs
- ``sample_grid``: the fixed validation photos, colorized after every validation (PNG and W&B)
- ``grid``: picture grids (rows of photos with their names) and side-by-side comparisons, for every figure
- ``results``: what a test run leaves for comparisons (test metrics, per-photo scores, the first test photos
  colorized)
- ``skipped_photos``: the end-of-epoch report of unreadable photos
- ``loggers``: W&B (never prompts, keeps its run id on resume) and the CSV logger
- ``sigterm``: a scheduler's SIGTERM stops every rank after the same batch
- ``distributed``: which process is rank 0 before the Trainer exists, and the DDP set-ups adapted or refused early
"""
