"""Training the classification head (:mod:`colorgan.nn.classification`): the rebalanced cross-entropy and the
training photos' colour frequencies it is weighted by.

**The frequencies** are counted once per data set: every training photo at the training size, converted to LAB on
the model's device as training converts it, average-pooled to the logits' quarter size (the pixels the loss
scores), each pixel counted in its nearest in-gamut bin. The counts are kept in
``<cache_dir>/ab-bins-<key>.json`` (``data.cache_dir``, beside the measured colourfulness of the photos) under a
key of the training photos (each file's path, size and modification time) and the size; a second run on the same
photos reads them. Under DDP rank 0 counts (or reads) and the other ranks receive the weights. The weights then
live in the generator's buffers, so a resumed run, colorize and the exports never count again; a run started
``init_from`` another model's checkpoint counts its own photos.

**The loss** is the paper's: ``-sum_q Z_q log softmax(logits)_q`` per pixel, with ``Z`` the soft-encoded truth
(:func:`~colorgan.nn.classification.soft_encode`), weighted by the rebalancing weight of the pixel's nearest bin,
averaged over the pixels.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from colorgan.nn.classification import POOL, nearest_bins, rebalancing_weights, soft_targets

log = logging.getLogger(__name__)

COUNTS_FORMAT = 1


def class_loss(logits: Tensor, ab: Tensor, bins: Tensor, weights: Tensor) -> Tensor:
    """The rebalanced cross-entropy of logits ``(B, Q, H/4, W/4)`` against the true ab ``(B, 2, H, W)``."""
    target_ab = F.avg_pool2d(ab.float(), POOL)
    z, nearest = soft_targets(target_ab, bins)
    b, _, h, w = target_ab.shape
    pixel_weights = weights[nearest].reshape(b, h, w)
    ce = -(z * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)
    return (pixel_weights * ce).mean()


def count_bins(ab: Tensor, bins: Tensor) -> Tensor:
    """How many pixels of ``ab`` ``(B, 2, H, W)`` (normalised), pooled to the logits' size, fall nearest to each bin:
    ``(Q,)`` int64 on ``ab``'s device."""
    pooled = F.avg_pool2d(ab.float(), POOL)
    _, nearest = nearest_bins(pooled, bins)
    return torch.bincount(nearest[:, 0], minlength=bins.shape[0])


def count_training_colours(datamodule: Any, bins: Tensor, device: torch.device) -> tuple[Tensor, int]:
    """Bin counts ``(Q,)`` (int64, on the CPU) of every training photo of ``datamodule`` (set up for fitting), and
    the number of photos counted."""
    counts = torch.zeros(bins.shape[0], dtype=torch.int64, device=device)
    bins = bins.to(device)
    photos = 0
    loader = datamodule.counting_loader()
    for batch in tqdm(loader, desc="Counting the training photos' colours", unit="batch", leave=False):
        images = batch["image"]
        if images.shape[0] == 0:
            continue
        ab = datamodule.to_lab_batch(images.to(device), train=False)["ab"]
        counts += count_bins(ab, bins)
        photos += images.shape[0]
    return counts.cpu(), photos


def _counts_path(datamodule: Any, bins: Tensor) -> Path:
    h = hashlib.sha1(f"colorgan-ab-bins-{COUNTS_FORMAT}-{bins.shape[0]}-{POOL}".encode())
    h.update(str(datamodule.training_set_key()).encode())
    return Path(datamodule.cache_dir) / f"ab-bins-{h.hexdigest()[:20]}.json"


def training_counts(datamodule: Any, bins: Tensor, device: torch.device) -> Tensor:
    """The training photos' bin counts: read from ``cache_dir`` when this data set was counted before, else counted
    on ``device`` and written there (atomically: a killed run leaves no half-written file)."""
    path = _counts_path(datamodule, bins)
    try:
        stored = json.loads(path.read_text())
        if stored.get("bins") == bins.tolist():
            log.info("Colour frequencies of the training photos read from %s", path)
            return torch.tensor(stored["counts"], dtype=torch.int64)
    except (OSError, ValueError, KeyError):
        pass
    counts, photos = count_training_colours(datamodule, bins, device)
    log.info(
        "Counted the colours of %d training photos (%d pixels at the logits' size); kept in %s",
        photos,
        int(counts.sum()),
        path,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as f:
            json.dump({"format": COUNTS_FORMAT, "photos": photos, "bins": bins.tolist(), "counts": counts.tolist()}, f)
        os.replace(f.name, path)
    except OSError as err:  # a read-only cache folder: the counts are used, just not remembered
        log.warning("Could not keep the colour frequencies in %s: %s", path, err)
    return counts


def set_class_weights(module: Any) -> None:
    """Give ``module``'s classification head (and its moving average) the rebalancing weights of its training
    photos, unless its weights already have them (a resumed run, ``init_from``)."""
    head = module.generator
    if bool(head.class_weights_set):
        return
    trainer = module.trainer
    weights = None
    if trainer.is_global_zero:
        counts = training_counts(trainer.datamodule, head.bins, module.device)
        weights = rebalancing_weights(counts, head.bins.cpu())
    if trainer.world_size > 1:
        weights = trainer.strategy.broadcast(weights, src=0)
    assert weights is not None
    head.set_class_weights(weights)
    if module.generator_ema is not None:
        module.generator_ema.module.set_class_weights(weights)
