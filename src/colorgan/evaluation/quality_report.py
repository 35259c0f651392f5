"""The quality table of a multirun with ``test=true``: every job next to a gray baseline, on the held-out photos.

:class:`~colorgan.evaluation.sweep_summary.SweepSummary` calls :func:`write_quality_report` when a sweep ends. For each
job it reads ``result.yaml`` (status, overrides), the job's ``config.yaml`` (``recipe_name``, the data, the
budget) and what :class:`~colorgan.training.results.TestRecord` left (``test_metrics.json``,
``samples/test.pt``), and writes into the sweep folder:

- ``quality.md``: the table in Markdown, with the data and the budget of the jobs;
- ``quality.json``: the same numbers, with each job's folder and overrides;
- ``quality.png``: the first test photos: gray | each recipe (its first job) | truth.

Jobs that differ only in ``seed`` are one recipe. Where the jobs left their per-photo scores
(``test_photos.json``), the table gives each recipe's mean with a 95 % interval and its difference to the gray
baseline and to the reference recipe (``pix2pix``) with a paired bootstrap over the test *source photos* and the
seeds (:mod:`colorgan.evaluation.intervals`), marking the differences whose interval excludes 0; ``quality.json``
keeps every per-photo, per-seed score. ``python -m colorgan.evaluation.quality_report SWEEP/quality.json``
recomputes the tables from it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from colorgan.evaluation.intervals import (
    LEVEL,
    SourcePhotos,
    SourcesError,
    bootstrap_difference,
    bootstrap_mean,
    by_source,
)
from colorgan.metrics import SELECTION_METRIC
from colorgan.training.grid import labelled_grid
from colorgan.training.results import TEST_PHOTOS_FILE, read_test_record, write_json

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


def _is_seed(override: str) -> bool:
    return override.split("=", 1)[0].lstrip("+~") == "seed"


def job_labels(results: list[dict[str, Any]], configs: list[Any]) -> list[str]:
    """A name for each job: its ``recipe_name`` when set, else the overrides in which it differs from the other
    jobs (``model.gan_mode=lsgan``), else ``job N``. ``seed=`` overrides do not name a job: jobs that differ only
    in their seed share a name (they are one recipe, several seeds). Names that would still repeat with the same
    seed get the job number appended."""
    override_sets = [set(r.get("overrides") or []) for r in results]
    common = set.intersection(*override_sets) if override_sets else set()
    labels = []
    for result, config in zip(results, configs):
        own = [o for o in result.get("overrides") or [] if o not in common and not _is_seed(o)]
        labels.append(str(config.get("recipe_name") or " ".join(own) or f"job {result['job']}"))
    seeds = [config.get("seed") for config in configs]
    keys = list(zip(labels, seeds))
    return [f"{label} (job {r['job']})" if keys.count(key) > 1 else label
            for label, key, r in zip(labels, keys, results)]


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


def _test_dir(result: dict[str, Any]) -> Path:
    """Where a job's test record is: ``test_dir`` when the job was tested again elsewhere (at equal steps), else
    its own folder."""
    return Path(result.get("test_dir") or result["output_dir"])


def write_quality_report(sweep_dir: Path, results: list[dict[str, Any]], stem: str = "quality",
                         tested_with: str | None = None, extra: dict[str, Any] | None = None,
                         heading: str = "Colour quality"
                         ) -> dict[str, Any] | None:
    """Write ``quality.md``, ``quality.json`` and ``quality.png`` for the jobs of ``results`` (``result.yaml``
    contents) that left test metrics; returns the content of ``quality.json``, or None when no job was tested.

    ``stem`` names the files (``<stem>.md`` ...); a result with a ``test_dir`` is read from that folder's test
    record instead of its own (its config still from its own folder); ``tested_with`` says which checkpoint each
    job was tested with (default: its ``best-*.ckpt`` by the monitored metric); ``extra`` is added to the JSON;
    ``heading`` starts the Markdown's title."""
    tested = []
    photos = None
    for result in sorted(results, key=lambda r: int(r["job"])):
        record, images = read_test_record(_test_dir(result))
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
    intervals = _intervals_of_jobs(labels, tested, OmegaConf.select(config, "data.root", default=None))

    budget = {k: OmegaConf.select(config, f"trainer.{k}", default=None) for k in ("max_time", "max_epochs")}
    data = {"root": OmegaConf.select(config, "data.root", default=None),
            "image_size": OmegaConf.select(config, "data.image_size", default=None),
            "photos": photos}
    monitor = OmegaConf.select(config, "callbacks.model_checkpoint.monitor", default=f"val/{SELECTION_METRIC}")
    for job, (_, config_, _, _) in zip(jobs, tested):
        job["seed"] = config_.get("seed")
    report = {"sweep": str(sweep_dir), "best_checkpoint_by": monitor, "data": data, "budget": budget,
              "gray_baseline": gray, "jobs": jobs, **(extra or {})}
    if intervals:
        report["intervals"] = intervals

    first_of_each = [i for i, label in enumerate(labels) if labels.index(label) == i]  # one row per recipe
    grid_rows = _grid_rows([labels[i] for i in first_of_each], [tested[i] for i in first_of_each])
    grid_file, table_file = f"{stem}.png", sweep_dir / f"{stem}.md"
    if grid_rows:
        labelled_grid(grid_rows).save(sweep_dir / grid_file)
        report["grid"] = str(sweep_dir / grid_file)
    count = f"{int(data['photos'])} held-out test photos" if data["photos"] else "the held-out test photos"
    text = (
        f"# {heading}: {sweep_dir}\n\n"
        f"{count} of {data['root']} at {data['image_size']} px; each job trained for trainer.max_time="
        f"{budget['max_time']} (max_epochs={budget['max_epochs']}) and was tested with "
        f"{tested_with or f'its best-*.ckpt (by {monitor})'}.\n\n"
    )
    text += format_intervals(intervals) if intervals else format_markdown(rows) + "\n"
    if grid_rows:
        text += f"\n![gray | each job | truth]({grid_file})\n"
    table_file.write_text(text)
    write_json(sweep_dir / f"{stem}.json", report)
    log.info("Quality of %d job(s) on the test photos (%s):\n%s", len(jobs), table_file,
             format_intervals(intervals) if intervals else format_markdown(rows))
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


# ----------------------------------------------------------------------------------------------------- intervals
# metric -> (heading, +1 higher is better / -1 lower is better / 0 neither, decimals)
INTERVAL_METRICS = {
    "psnr": ("PSNR", 1, 2),
    "l1_ab": ("L1(ab)", -1, 4),
    "swd_ab": ("SWD(ab)", -1, 4),
    "colorfulness": ("colourfulness", 0, 1),
}
REFERENCE_RECIPE = "pix2pix"


def _intervals_of_jobs(labels: list[str], tested: list[tuple], root: str | None) -> dict[str, Any] | None:
    """The per-photo, per-seed scores of the jobs that left ``test_photos.json``, and their intervals; the photos
    are grouped into source photos as the data set at ``root`` says (its ``sources.csv``), else one by one."""
    scores: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    gray: dict[str, dict[str, float]] = {}
    for label, (result, config, _, _) in zip(labels, tested):
        path = _test_dir(result) / TEST_PHOTOS_FILE
        if not path.is_file():
            continue
        photos = json.loads(path.read_text())["photos"]
        seed = str(config.get("seed"))
        scores.setdefault(label, {})[seed] = {p["photo"]: p["scores"] for p in photos}
        for p in photos:
            gray.setdefault(p["photo"], p["gray"])
    if not scores:
        return None
    return {"scores": scores, "gray_scores": gray, **compute_intervals(scores, gray, data_sources(root))}


def data_sources(root: str | None) -> SourcePhotos:
    """Which source photo each test photo of the data set at ``root`` was cut from (its ``sources.csv``), else each
    photo its own, with a warning."""
    try:
        return SourcePhotos.of_data(root)
    except (SourcesError, OSError) as err:
        log.warning("%s: each test photo counts as its own source photo", err)
        return SourcePhotos()


def compute_intervals(scores: dict[str, dict[str, dict[str, dict[str, float]]]], gray: dict[str, dict[str, float]],
                      sources: SourcePhotos | None = None,
                      pairs: Sequence[tuple[str, str]] = (),
                      reference: str | None = REFERENCE_RECIPE) -> dict[str, Any]:
    """Each recipe's mean and interval, and its differences to gray and to the reference recipe.

    Args:
        scores: recipe -> seed -> photo -> metric -> value (``quality.json``'s ``intervals.scores``).
        gray: photo -> metric -> value, the gray baseline.
        sources: which source photo each photo was cut from (default: each photo is its own;
            :class:`colorgan.evaluation.intervals.SourcePhotos`).
        pairs: more differences to compute, ``(recipe, other recipe)`` (e.g. a pretrained encoder against the same
            network from random weights).
        reference: the recipe every other is compared with when it is among ``scores`` (None: none).

    Raises:
        ValueError: a recipe of ``pairs`` is not one of ``scores`` (the message lists them).

    Only the photos that every job and the baseline scored are compared; the count of photos and source photos
    behind every number is in the result, with how they were grouped (``grouping``) and each photo's source
    (``source_of``), so that the tables can be recomputed without the data set.
    """
    sources = sources or SourcePhotos()
    common = set(gray)
    for per_seed in scores.values():
        for photos in per_seed.values():
            common &= set(photos)
    photos = sorted(common)
    if not photos:
        raise ValueError("the jobs scored no test photo in common: they tested different photos")

    def matrix(per_seed: dict[str, dict[str, dict[str, float]]], metric: str) -> np.ndarray:
        return np.array([[per_seed[seed][p][metric] for p in photos] for seed in sorted(per_seed)])

    unlisted = sources.unlisted(photos)
    if unlisted:
        log.warning("%s does not list %d of the %d test photos (%s ...): each of those counts as its own source photo",
                    sources.origin, len(unlisted), len(photos), unlisted[0])
    names, _ = by_source(photos, np.zeros(len(photos)), sources)
    metrics = [m for m in INTERVAL_METRICS if all(m in gray[p] for p in photos)]
    gray_by_source = {m: by_source(photos, np.array([gray[p][m] for p in photos]), sources)[1] for m in metrics}
    truth = by_source(photos, np.array([gray[p].get("colorfulness_true", np.nan) for p in photos]), sources)[1]
    per_recipe: dict[str, Any] = {"gray baseline": {"seeds": []}}
    for m in metrics:
        per_recipe["gray baseline"][m] = bootstrap_mean(gray_by_source[m]).as_dict()
    recipe_values = {}
    for recipe, per_seed in scores.items():
        recipe_values[recipe] = {m: by_source(photos, matrix(per_seed, m), sources)[1] for m in metrics}
        per_recipe[recipe] = {"seeds": sorted(per_seed)}
        for m in metrics:
            per_recipe[recipe][m] = bootstrap_mean(recipe_values[recipe][m]).as_dict()
    reference = reference if reference in scores else None
    differences: dict[str, Any] = {}
    for recipe, values in recipe_values.items():
        differences[recipe] = {"gray": {m: bootstrap_difference(values[m], gray_by_source[m]).as_dict()
                                        for m in metrics}}
        if reference is not None and recipe != reference:
            differences[recipe][reference] = {
                m: bootstrap_difference(values[m], recipe_values[reference][m]).as_dict() for m in metrics
            }
    for recipe, other in pairs:
        unknown = [r for r in (recipe, other) if r not in recipe_values]
        if unknown or recipe == other:
            raise ValueError(f"cannot compare {recipe} with {other}: the recipes are {', '.join(recipe_values)}")
        differences[recipe][other] = {
            m: bootstrap_difference(recipe_values[recipe][m], recipe_values[other][m]).as_dict() for m in metrics
        }
    return {"level": LEVEL, "photos": len(photos), "source_photos": len(names), "sources": names,
            "grouping": sources.describe(), "source_of": {p: sources.of(p) for p in photos},
            "truth_colorfulness": float(np.nanmean(truth)), "reference": reference, "per_recipe": per_recipe,
            "differences": differences}


def _cell(estimate: dict[str, Any], decimals: int, signed: bool = False) -> str:
    f = f"{{:{'+' if signed else ''}.{decimals}f}}"
    text = f"{f.format(estimate['mean'])} [{f.format(estimate['low'])}, {f.format(estimate['high'])}]"
    seeds = estimate.get("per_seed") or []
    if len(seeds) > 1:
        text += f" (seeds {f.format(min(seeds))} to {f.format(max(seeds))})"
    return text


def _verdict(metric: str, estimate: dict[str, Any]) -> str:
    if not estimate["excludes_zero"]:
        return ""
    direction = INTERVAL_METRICS[metric][1]
    if direction == 0:
        return " **more**" if estimate["mean"] > 0 else " **less**"
    return " **better**" if estimate["mean"] * direction > 0 else " **worse**"


def format_intervals(intervals: dict[str, Any]) -> str:
    """The tables of :func:`compute_intervals` in Markdown: per recipe, then the differences, then what is real."""
    level = f"{intervals['level'] * 100:g} %"
    metrics = [m for m in INTERVAL_METRICS if m in intervals["per_recipe"]["gray baseline"]]
    n, p = intervals["photos"], intervals["source_photos"]
    if p == n:
        mean = f"the mean over {n} test photos, each its own source photo, and over the seeds"
    else:
        mean = (f"the mean of {p} source photos' means ({n} test photos: the crops of one source photo are averaged "
                "first, so each source photo counts once) and over the seeds")
    grouping = intervals.get("grouping")
    lines = [
        f"Per recipe: {mean}, its {level} interval (bootstrap over source photos and seeds) and, with several seeds, "
        f"the range of the per-seed means. The truth's colourfulness is {intervals['truth_colorfulness']:.1f}."
        + (f" Source photos: {grouping}." if grouping else ""),
        "",
        "| recipe | seeds | " + " | ".join(INTERVAL_METRICS[m][0] for m in metrics) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in metrics) + " |",
    ]
    for recipe, row in intervals["per_recipe"].items():
        cells = [_cell(row[m], INTERVAL_METRICS[m][2]) for m in metrics]
        lines.append(f"| {recipe} | {len(row['seeds']) or '-'} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Differences (recipe minus the other; paired {level} interval over the same source photos and the seeds; "
        "**better**/**worse**/**more**/**less**: the interval excludes 0, a real difference):",
        "",
        "| recipe | against | " + " | ".join(f"Δ {INTERVAL_METRICS[m][0]}" for m in metrics) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in metrics) + " |",
    ]
    real = []
    for recipe, against in intervals["differences"].items():
        for other, row in against.items():
            cells = [_cell(row[m], INTERVAL_METRICS[m][2], signed=True) + _verdict(m, row[m]) for m in metrics]
            lines.append(f"| {recipe} | {other} | " + " | ".join(cells) + " |")
            found = [f"{INTERVAL_METRICS[m][0]}{_verdict(m, row[m]).replace('*', '')}"
                     for m in metrics if row[m]["excludes_zero"]]
            if found:
                real.append(f"{recipe} against {other}: {', '.join(found)}")
    lines += ["", "Real differences: " + ("; ".join(real) if real else "none; every interval includes 0.")]
    return "\n".join(lines) + "\n"


def _saved_sources(saved: dict[str, Any], pattern: str | None) -> SourcePhotos:
    """``--source-pattern`` when given, else the grouping ``quality.json`` recorded."""
    if pattern:
        return SourcePhotos.from_pattern(pattern)
    if saved.get("source_of"):
        return SourcePhotos(table=saved["source_of"], origin="quality.json", description=saved.get("grouping", ""))
    if saved.get("source_pattern"):
        # written before the data set's word was asked: the pattern was a guess from names, not used any more
        print(f"note: this quality.json grouped photos by the name guess {saved['source_pattern']!r}; now each "
              "photo counts as its own source photo. To group as before, give --source-pattern "
              f"'{saved['source_pattern']}'", file=sys.stderr)
    return SourcePhotos()


def main(argv: list[str] | None = None) -> None:
    """``python -m colorgan.evaluation.quality_report SWEEP/quality.json``: recompute and print the interval tables
    from the per-photo, per-seed scores a comparison kept."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("quality_json", type=Path, help="a comparison's quality.json")
    parser.add_argument("--source-pattern", help="regular expression whose 'source' group (else its whole match) names "
                        "a photo's source photo, e.g. '(?P<source>.*)_\\d+\\.jpg$' for kite_0.jpg, kite_1.jpg; "
                        "default: as the comparison grouped them (the data set's sources.csv, else each photo its own)")
    parser.add_argument("--compare", action="append", default=[], metavar="RECIPE,OTHER",
                        help="also the paired difference of RECIPE to OTHER (repeat for more), e.g. "
                        "--compare lite0_unet_imagenet,lite0_unet")
    args = parser.parse_args(argv)
    report = json.loads(args.quality_json.read_text())
    saved = report.get("intervals")
    if not saved:
        raise SystemExit(f"{args.quality_json} holds no per-photo scores (its jobs left no {TEST_PHOTOS_FILE})")
    pairs = []
    for pair in args.compare:
        names = [n.strip() for n in pair.split(",")]
        if len(names) != 2 or not all(names):
            parser.error(f"--compare {pair}: give two recipes, RECIPE,OTHER")
        pairs.append((names[0], names[1]))
    try:
        sources = _saved_sources(saved, args.source_pattern)
        intervals = compute_intervals(saved["scores"], saved["gray_scores"], sources, pairs)
    except SourcesError as err:
        parser.error(str(err))
    except ValueError as err:
        raise SystemExit(f"{args.quality_json}: {err}") from None
    print(format_intervals(intervals), end="")


if __name__ == "__main__":
    main()
