"""The quality table of a multirun with ``test=true``: every job next to a gray baseline, on the held-out photos.

:class:`~colorgan.config.sweep_summary.SweepSummary` calls :func:`write_quality_report` when a sweep ends. For each
job it reads ``result.yaml`` (status, overrides), the job's ``config.yaml`` (``recipe_name``, the data, the
budget) and what :class:`~colorgan.training.test_record.TestRecord` left (``test_metrics.json``,
``samples/test.pt``), and writes into the sweep folder:

- ``quality.md``: the table in Markdown, with the data and the budget of the jobs;
- ``quality.json``: the same numbers, with each job's folder and overrides;
- ``quality.png``: the first test photos, one row per job: gray | each job | truth.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from colorgan.grid import labelled_grid
from colorgan.metrics import SELECTION_METRIC
from colorgan.training.test_record import read_test_record, write_json

log = logging.getLogger(__name__)

QUALITY_TABLE_FILE = "quality.md"
QUALITY_JSON_FILE = "quality.json"
QUALITY_GRID_FILE = "quality.png"
GRAY_ROW = "gray baseline"
# column -> (heading, what is better, decimals)
COLUMNS = {
    "psnr": ("PSNR", "higher", 2),
    "ssim": ("SSIM", "higher", 4),
    "l1_ab": ("L1(ab)", "lower", 4),
    "swd_ab": ("SWD(ab)", "lower", 4),
    SELECTION_METRIC: (f"{SELECTION_METRIC} (selection)", "lower", 4),
    "colorfulness": ("colourfulness", "closer to the truth", 1),
    "colorfulness_true": ("truth's", "", 1),
    "colorfulness_gap": ("gap", "closer to 0", 1),
    "fid": ("FID", "lower", 2),
}


def _job_config(output_dir: str) -> Any:
    path = Path(output_dir) / "config.yaml"
    return OmegaConf.load(path) if path.is_file() else OmegaConf.create()


def job_labels(results: list[dict[str, Any]], configs: list[Any]) -> list[str]:
    """A name for each job: its ``recipe_name`` when set, else the overrides in which it differs from the other
    jobs (``model.gan_mode=lsgan``), else ``job N``. Names that would repeat get the job number appended."""
    override_sets = [set(r.get("overrides") or []) for r in results]
    common = set.intersection(*override_sets) if override_sets else set()
    labels = []
    for result, config in zip(results, configs):
        own = [o for o in result.get("overrides") or [] if o not in common]
        labels.append(str(config.get("recipe_name") or " ".join(own) or f"job {result['job']}"))
    return [f"{label} (job {r['job']})" if labels.count(label) > 1 else label for label, r in zip(labels, results)]


def _strip(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    """``{"test/psnr": x, "test/gray/psnr": y}`` with prefix ``test/`` -> ``{"psnr": x}`` (one level only)."""
    return {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix) and "/" not in k[len(prefix):]}


def format_markdown(rows: dict[str, dict[str, float]]) -> str:
    """The rows (name -> metrics) as a Markdown table, with the columns any row has."""
    columns = [c for c in COLUMNS if any(c in r for r in rows.values())]
    header = ["", *(f"{COLUMNS[c][0]}" for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([" --- "] + [" ---: "] * len(columns)) + "|"]
    for name, row in rows.items():
        cells = [f"{row[c]:.{COLUMNS[c][2]}f}" if c in row else "" for c in columns]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    better = "; ".join(f"{COLUMNS[c][0]}: {COLUMNS[c][1]}" for c in columns if COLUMNS[c][1])
    return "\n".join(lines) + f"\n\nBetter: {better}."


def write_quality_report(sweep_dir: Path, results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Write ``quality.md``, ``quality.json`` and ``quality.png`` for the jobs of ``results`` (``result.yaml``
    contents) that left test metrics; returns the content of ``quality.json``, or None when no job was tested."""
    tested = []
    photos = None
    for result in sorted(results, key=lambda r: int(r["job"])):
        record, images = read_test_record(result["output_dir"])
        if record and record.get("metrics"):
            tested.append((result, _job_config(result["output_dir"]), record["metrics"], images))
            photos = photos or record.get("photos")
    if not tested:
        return None
    labels = job_labels([t[0] for t in tested], [t[1] for t in tested])

    gray = next((_strip(m, "test/gray/") for _, _, m, _ in tested if _strip(m, "test/gray/")), {})
    rows: dict[str, dict[str, float]] = {GRAY_ROW: gray} if gray else {}
    jobs = []
    for label, (result, _, metrics, _) in zip(labels, tested):
        rows[label] = _strip(metrics, "test/")
        jobs.append({"name": label, "job": int(result["job"]), "status": result.get("status"),
                     "overrides": list(result.get("overrides") or []), "output_dir": result["output_dir"],
                     "metrics": rows[label]})
    differing = [lbl for lbl, (_, _, m, _) in zip(labels, tested) if gray and _strip(m, "test/gray/") != gray]
    if differing:
        log.warning("The gray baseline differs in %s: those jobs tested other photos or sizes (the table's gray "
                    "row is the first job's)", ", ".join(differing))

    config = tested[0][1]
    budget = {k: OmegaConf.select(config, f"trainer.{k}", default=None) for k in ("max_time", "max_epochs")}
    data = {"root": OmegaConf.select(config, "data.root", default=None),
            "image_size": OmegaConf.select(config, "data.image_size", default=None),
            "photos": photos}
    monitor = OmegaConf.select(config, "callbacks.model_checkpoint.monitor", default=f"val/{SELECTION_METRIC}")
    report = {"sweep": str(sweep_dir), "best_checkpoint_by": monitor, "data": data, "budget": budget,
              "gray_baseline": gray, "jobs": jobs}

    grid_rows = _grid_rows(labels, tested)
    if grid_rows:
        labelled_grid(grid_rows).save(sweep_dir / QUALITY_GRID_FILE)
        report["grid"] = str(sweep_dir / QUALITY_GRID_FILE)
    count = f"{int(data['photos'])} held-out test photos" if data["photos"] else "the held-out test photos"
    text = (
        f"# Colour quality: {sweep_dir}\n\n"
        f"{count} of {data['root']} at {data['image_size']} px; each job trained for trainer.max_time="
        f"{budget['max_time']} (max_epochs={budget['max_epochs']}) and was tested with its best-*.ckpt (by "
        f"{monitor}).\n\n{format_markdown(rows)}\n"
    )
    if grid_rows:
        text += f"\n![gray | each job | truth]({QUALITY_GRID_FILE})\n"
    (sweep_dir / QUALITY_TABLE_FILE).write_text(text)
    write_json(sweep_dir / QUALITY_JSON_FILE, report)
    log.info("Quality of %d job(s) on the test photos (%s):\n%s", len(jobs), sweep_dir / QUALITY_TABLE_FILE,
             format_markdown(rows))
    return report


def _grid_rows(labels: list[str], tested: list[tuple]) -> list[tuple[str, torch.Tensor]]:
    """gray | each job's colorized test photos | truth, for the jobs that colorized the same photos as the first."""
    with_images = [(label, images) for label, (_, _, _, images) in zip(labels, tested) if images]
    if not with_images:
        return []
    first = with_images[0][1]
    rows = [("gray", first["gray"])]
    for label, images in with_images:
        if images["truth"].shape != first["truth"].shape or not torch.equal(images["truth"], first["truth"]):
            log.warning("%s colorized other test photos than %s: left out of %s", label, with_images[0][0],
                        QUALITY_GRID_FILE)
            continue
        rows.append((label, images["colorized"]))
    rows.append(("truth", first["truth"]))
    return [(name, images.float().div(255.0)) for name, images in rows]
