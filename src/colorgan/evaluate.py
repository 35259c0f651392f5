"""Measure a trained colorizer: ``python -m colorgan.evaluate ckpt_path=PATH data.root=DIR``.

Hydra composes ``conf/evaluate.yaml`` (the same ``data`` and ``paths`` groups as training). The test split (or, with
``split=all``, every photo) is centre-cropped and resized to the training size, as in validation, and scored twice:
the model's colours, and a gray baseline (ab = 0) that shows how much the model adds to doing nothing. Prints a
table, and writes ``metrics.json`` and ``samples.png`` (gray | colorized | truth) to ``paths.output_dir``.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import Tensor, nn
from tqdm import tqdm

from colorgan.color import gray_rgb, model_lab_to_rgb
from colorgan.config import config_dir
from colorgan.data.files import NoImagesError, Splits, find_images
from colorgan.data.host_memory import keep_freed_memory
from colorgan.metrics import (
    SELECTION_METRIC,
    ColorizationMetrics,
    fid_unavailable,
    frechet_inception_distance,
)
from colorgan.training.grid import labelled_grid

log = logging.getLogger(__name__)

MODEL_ROW = "colorgan"
BASELINE_ROW = "gray_baseline"
LIFT_ROW = "lift"
# the metric columns of the table, with the direction that is better
COLUMNS = {
    "psnr": "higher",
    "ssim": "higher",
    "l1_ab": "lower",
    "swd_ab": "lower",
    SELECTION_METRIC: "lower",
    "colorfulness": "closer to truth",
    "colorfulness_true": "",
    "colorfulness_gap": "closer to 0",
    "fid": "lower",
}


INCEPTION_FEATURES = "torch-fidelity's Inception v3, 2048 pool features"


class _FID:
    """Fréchet Inception Distance of the model's and the baseline's photos to the true ones (torchmetrics).

    ``features``: a module mapping RGB ``(B, 3, H, W)`` in [0, 1] to ``(B, F)`` features, used instead of
    torch-fidelity's Inception (``weights``).
    """

    def __init__(self, weights: Path | None, device: torch.device, features: nn.Module | None = None) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance

        def make() -> FrechetInceptionDistance:
            if features is not None:
                return FrechetInceptionDistance(feature=features, normalize=True).to(device)
            return frechet_inception_distance(weights).to(device)

        self.model, self.baseline = make(), make()

    def update(self, pred: Tensor, gray: Tensor, truth: Tensor) -> None:
        for metric, fake in ((self.model, pred), (self.baseline, gray)):
            metric.update(truth, real=True)
            metric.update(fake, real=False)

    def compute(self) -> tuple[float, float]:
        return float(self.model.compute()), float(self.baseline.compute())


def _floats(values: dict[str, Tensor]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """The metrics as a fixed-width text table, one row per entry of ``rows``."""
    columns = [c for c in COLUMNS if any(c in r for r in rows.values())]
    columns += sorted({c for r in rows.values() for c in r} - set(columns))
    name_w = max(len(n) for n in rows) + 2
    widths = [max(len(c), 10) for c in columns]
    lines = [" " * name_w + "  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    for name, row in rows.items():
        signed = name == LIFT_ROW
        cells = []
        for c, w in zip(columns, widths):
            v = row.get(c)
            cells.append(("" if v is None else f"{v:+.4f}" if signed else f"{v:.4f}").rjust(w))
        lines.append(name.ljust(name_w) + "  ".join(cells))
    better = ", ".join(f"{c}: {d}" for c, d in COLUMNS.items() if d and c in columns)
    lines.append(f"(better: {better})")
    return "\n".join(lines)


@torch.inference_mode()
def evaluate(cfg: DictConfig, fid_features: nn.Module | None = None) -> dict[str, Any]:
    """Score the checkpoint ``cfg.ckpt_path`` on ``cfg.data``; write ``metrics.json`` and ``samples.png``.

    ``fid_features``: compute FID on the features of this module (RGB ``(B, 3, H, W)`` in [0, 1] -> ``(B, F)``)
    instead of torch-fidelity's Inception v3; ``fid=false`` still turns FID off.

    Returns the content of ``metrics.json``: ``{"colorgan": {...}, "gray_baseline": {...}, "lift": {...}, "photos":
    N, "skipped": [...], "fid_note": str | None, "fid_features": str | None, ...}``; each row holds ``psnr``,
    ``ssim``, ``l1_ab``, ``swd_ab``, ``l1_swd_ab`` (the selection metric), ``colorfulness``, ``colorfulness_true``,
    ``colorfulness_gap`` and, where it could be computed, ``fid`` (on the features ``fid_features`` names).
    """
    from colorgan.inference.colorizer import Colorizer

    colorizer = Colorizer.from_checkpoint(
        cfg.ckpt_path, device=cfg.get("device", "auto"), size=cfg.get("size"), temperature=cfg.get("temperature")
    )
    device = colorizer.device
    with open_dict(cfg):
        if cfg.data.get("image_size") is None:
            cfg.data.image_size = colorizer.image_size
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    datamodule = instantiate(cfg.data)
    split = str(cfg.get("split", "test"))
    if split == "all":
        files = find_images(datamodule.root)
        if not files:
            raise NoImagesError(f"No images found in '{datamodule.root}' (data.root)")
        datamodule.splits = Splits(files, files, files, "all")
    elif split != "test":
        raise ValueError(f"split must be 'test' or 'all', got {split!r}")
    datamodule.setup("test")
    assert datamodule.test_set is not None

    fid = None
    fid_note = None
    features_name = None
    if str(cfg.get("fid", "auto")).lower() in ("false", "0", "no", "off"):
        fid_note = "FID skipped: fid=false"
    elif fid_features is not None:
        fid, features_name = _FID(None, device, fid_features.to(device)), type(fid_features).__name__
    else:
        weights, fid_note = fid_unavailable(cfg.get("fid_weights"))
        if weights is not None:
            fid, features_name = _FID(weights, device), INCEPTION_FEATURES

    model_metrics = ColorizationMetrics().to(device)
    gray_metrics = ColorizationMetrics().to(device)
    n_grid = int(cfg.get("num_grid_images", 8))
    grid_rows: dict[str, list[Tensor]] = {"gray": [], "colorized": [], "truth": []}
    skipped: list[str] = []
    photos = 0
    for batch in tqdm(datamodule.test_dataloader(), desc="Evaluating", unit="batch", disable=None):
        skipped.extend(batch.get("skipped", []))
        if batch["image"].shape[0] == 0:
            continue
        lab = datamodule.to_lab_batch(batch["image"].to(device), train=False)
        L, ab, rgb = lab["L"], lab["ab"], lab["rgb"]
        ab_hat = colorizer.predict_ab(L)
        # the colours as colorize delivers them: the photo's lightness kept, out-of-gamut colours toned down
        pred, gray = model_lab_to_rgb(L, ab_hat, keep_lightness=True), gray_rgb(L)
        model_metrics.update(pred, rgb, true_ab=ab)
        gray_metrics.update(gray, rgb, true_ab=ab)
        if fid is not None:
            fid.update(pred, gray, rgb)
        photos += L.shape[0]
        room = n_grid - sum(t.shape[0] for t in grid_rows["gray"])
        if room > 0:
            for name, images in (("gray", gray), ("colorized", pred), ("truth", rgb)):
                grid_rows[name].append(images[:room].cpu())
    if photos == 0:
        raise NoImagesError(
            f"none of the {len(datamodule.test_set)} photos of the {split} split under {datamodule.root} could be "
            f"read (e.g. {skipped[0] if skipped else '?'})"
        )

    model_row, gray_row = _floats(model_metrics.compute()), _floats(gray_metrics.compute())
    if fid is not None:
        model_row["fid"], gray_row["fid"] = fid.compute()
    lift = {k: model_row[k] - gray_row[k] for k in model_row if k != "colorfulness_true"}
    result: dict[str, Any] = {
        MODEL_ROW: model_row,
        BASELINE_ROW: gray_row,
        LIFT_ROW: lift,
        "photos": photos,
        "skipped": skipped,
        "split": split,
        "data_root": str(datamodule.root),
        "image_size": int(cfg.data.image_size),
        "generator_size": colorizer.size,
        "ckpt_path": str(cfg.ckpt_path),
        "fid_note": fid_note,
        "fid_features": features_name,
    }
    curve = _hints_curve(cfg, colorizer, datamodule, device, output_dir)
    if curve is not None:
        result["hints_curve"] = curve
    bad = [f"{r}.{k}" for r in (MODEL_ROW, BASELINE_ROW) for k, v in result[r].items() if not math.isfinite(v)]
    if bad:
        log.warning("Some metrics are not finite: %s", ", ".join(bad))

    (output_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    if grid_rows["gray"]:
        grid = labelled_grid([(name, torch.cat(images)) for name, images in grid_rows.items()])
        grid.save(output_dir / "samples.png")
    print(
        f"Evaluated {photos} photo(s) of the {split} split under {datamodule.root} at {cfg.data.image_size} px"
        + (f" ({len(skipped)} unreadable, skipped)" if skipped else "")
    )
    print(format_table({MODEL_ROW: model_row, BASELINE_ROW: gray_row, LIFT_ROW: lift}))
    if fid_note:
        print(fid_note)
    if features_name:
        print(f"FID on the features of {features_name}")
    print(f"Wrote {output_dir / 'metrics.json'} and {output_dir / 'samples.png'}")
    for reason in skipped:
        log.warning("Skipped unreadable photo %s", reason)
    return result


def _hints_curve(
    cfg: DictConfig, colorizer: Any, datamodule: Any, device: torch.device, output_dir: Path
) -> dict[str, Any] | None:
    """For a hinted model: PSNR and ab error against the number of points
    (:mod:`colorgan.evaluation.hint_sweep`), written as ``hints_curve.json`` and ``hints_curve.png``; None for an
    automatic model."""
    from colorgan.inference.colorizer import Colorizer

    settings = cfg.get("hints") or {}
    if not colorizer.takes_hints:
        if settings.get("baseline"):
            log.warning("hints.baseline is set, but %s was trained without hints: no points curve", cfg.ckpt_path)
        return None
    from colorgan.evaluation.hint_sweep import format_curve, format_differences, summarise, sweep, write_curve
    from colorgan.evaluation.intervals import SourcePhotos

    baseline = None
    if settings.get("baseline"):
        baseline = Colorizer.from_checkpoint(settings.baseline, device=device, size=colorizer.size)
    points = [int(n) for n in settings.get("points", [0, 1, 2, 5, 10, 20, 50, 100])]
    seed = int(settings.get("seed", 0))
    sources = SourcePhotos.of_data(datamodule.root, settings.get("source_pattern"), setting="hints.source_pattern")
    summary = summarise(sweep(colorizer, datamodule, device, points, seed, baseline), sources=sources)
    summary.update({"seed": seed, "ckpt_path": str(cfg.ckpt_path), "baseline": settings.get("baseline")})
    json_path, png_path = write_curve(summary, output_dir, f"{Path(str(cfg.ckpt_path)).name}: quality against points")
    print(
        f"Against the number of points revealed (seed {seed}; 95 % intervals over {summary['source_photos']} source "
        f"photos: {summary['grouping']}):"
    )
    print(format_curve(summary))
    print("Differences, paired over the same source photos (95 % intervals; * where the interval excludes 0):")
    print(format_differences(summary))
    cost = summary.get("zero_points_cost")
    if cost:
        print(
            "0 points, hinted minus automatic: "
            + ", ".join(f"{k} {v['mean']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}]" for k, v in cost.items())
        )
    print(f"Wrote {json_path} and {png_path}")
    return summary


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="evaluate")
def _hydra_entry(cfg: DictConfig) -> None:
    log.debug("Config:\n%s", OmegaConf.to_yaml(cfg))
    evaluate(cfg)


def main() -> None:
    """Console entry point (``colorgan-evaluate``)."""
    keep_freed_memory()
    _hydra_entry()


if __name__ == "__main__":
    main()
