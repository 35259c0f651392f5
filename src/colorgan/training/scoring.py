"""Validation and test of a ColorGAN: the colorized photos scored against the truth, next to the gray baseline.

:class:`Scoring` holds the LightningModule hooks of both loops; :class:`~colorgan.training.module.ColorGAN` takes
them in as a base class, so that the training steps and the scoring each have a file of their own. Every number is
computed on the photos as ``colorgan-colorize`` delivers them (lightness kept, out-of-gamut colours toned down), by
the model's moving average when it keeps one (see :meth:`ColorGAN.forward`). Validation and test score a hinted
model without hints: automatic colorization, so that its numbers compare with an automatic model's.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
from torch import Tensor
from torchmetrics import Metric

from colorgan.color import gray_rgb, model_lab_to_rgb
from colorgan.metrics import ColorizationMetrics, fid_unavailable, frechet_inception_distance, per_photo_scores

log = logging.getLogger(__name__)


class Scoring(L.LightningModule):
    """The validation and test hooks of :class:`~colorgan.training.module.ColorGAN`.

    Logs ``val/<metric>``; ``pretrain/<metric>`` once, at the last epoch of the generator pretraining;
    ``test/<metric>`` and the gray baseline's ``test/gray/<metric>`` (``fid`` among them where its weights are on
    disk). The subclass provides ``forward`` (``L`` -> ``ab``) and the ``l1_warmup_epochs`` hyperparameter.
    """

    def _init_scoring(self) -> None:
        """Create the metrics (torchmetrics state, reduced across DDP ranks when computed)."""
        self.val_metrics = ColorizationMetrics()
        self.test_metrics = ColorizationMetrics()
        self.test_gray_metrics = ColorizationMetrics()  # the gray baseline (ab = 0) on the same test photos
        self._test_fid: dict[str, Metric] = {}

    def _evaluate(self, batch: dict[str, Any], metrics: ColorizationMetrics) -> Tensor | None:
        """Score the batch; returns the colorized pictures ``(B, 3, H, W)`` in [0, 1] (None for an empty batch)."""
        L_, ab = batch["L"], batch["ab"]
        if L_.shape[0] == 0:
            return None
        fake = self(L_)  # the moving average when there is one: what users of the checkpoint get
        # scored as colorize delivers it: the photo's lightness kept, out-of-gamut colours toned down
        pred = model_lab_to_rgb(L_, fake, keep_lightness=True)
        metrics.update(pred, batch["rgb"], true_ab=ab)
        return pred

    def _log_metrics(self, metrics: ColorizationMetrics, prefix: str, prog_bar: bool = True) -> dict[str, Tensor]:
        """Log the scores as ``<prefix>/<metric>``; returns them (empty when nothing was scored)."""
        if not metrics.updated and self.trainer.world_size == 1:
            return {}
        values = {f"{prefix}/{k}": v for k, v in metrics.compute().items()}
        psnr = values.pop(f"{prefix}/psnr")
        # torchmetrics already reduced the state across ranks, so every rank logs the same numbers (no sync_dist:
        # see the warning filter in colorgan.training.module)
        self.log_dict(values, sync_dist=False)
        self.log(f"{prefix}/psnr", psnr, prog_bar=prog_bar, sync_dist=False)
        metrics.reset()
        return {**values, f"{prefix}/psnr": psnr}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics)

    def on_validation_epoch_end(self) -> None:
        scores = self._log_metrics(self.val_metrics, "val")
        self._log_pretrain_scores(scores)

    def _log_pretrain_scores(self, scores: dict[str, Tensor]) -> None:
        """At the last epoch of the generator pretraining, log its validation scores once more as
        ``pretrain/<metric>``: where the GAN started from, one number per metric next to the ``val/`` curves."""
        if self.trainer.sanity_checking or self.current_epoch != int(self.hparams["l1_warmup_epochs"]) - 1:
            return
        # already reduced across ranks (torchmetrics): no sync_dist
        self.log_dict({"pretrain/" + k.split("/", 1)[1]: v for k, v in scores.items()}, sync_dist=False)

    def on_test_epoch_start(self) -> None:
        # FID only where torch-fidelity and its Inception weights are already here (torch.hub's cache): never
        # downloaded. Plain attributes, not submodules: they stay out of the checkpoint.
        weights, note = fid_unavailable()
        self._test_fid = {}
        if weights is None:
            log.info("%s; the test metrics go without it", str(note).split(" (set fid_weights")[0])
            return
        self._test_fid = {k: frechet_inception_distance(weights).to(self.device) for k in ("test", "test/gray")}

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any] | None:
        """Scores the batch into the test metrics; returns each photo's own scores (``colorgan.metrics.
        per_photo_scores``) for the model and the gray baseline, with the photos' ``index`` in the test set, so
        that a comparison can resample photos (:class:`~colorgan.training.results.TestRecord` writes them)."""
        pred = self._evaluate(batch, self.test_metrics)
        if pred is None:
            return None
        gray = gray_rgb(batch["L"])
        self.test_gray_metrics.update(gray, batch["rgb"], true_ab=batch["ab"])
        for prefix, pictures in (("test", pred), ("test/gray", gray)):
            if prefix in self._test_fid:
                self._test_fid[prefix].update(batch["rgb"], real=True)
                self._test_fid[prefix].update(pictures, real=False)
        index = batch.get("index")
        return {
            "index": index.cpu() if isinstance(index, Tensor) else None,
            "scores": {k: v.cpu() for k, v in per_photo_scores(pred, batch["rgb"], batch["ab"]).items()},
            "gray": {k: v.cpu() for k, v in per_photo_scores(gray, batch["rgb"], batch["ab"]).items()},
        }

    def on_test_epoch_end(self) -> None:
        """Logs ``test/<metric>`` and, for the gray baseline on the same photos, ``test/gray/<metric>``; ``fid``
        among them where its weights are on disk."""
        self._log_metrics(self.test_metrics, "test")
        self._log_metrics(self.test_gray_metrics, "test/gray", prog_bar=False)
        for prefix, fid in self._test_fid.items():
            self.log(f"{prefix}/fid", fid.compute(), sync_dist=False)
            fid.reset()
