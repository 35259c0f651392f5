"""The temperature curve of a sweep: ``python -m colorgan.evaluation.temperature_curve SWEEP_DIR``.

A classification head (``model.head=classification``) decodes its colour distribution with an annealed mean whose
temperature trades vivid (``T -> 0``: the most likely colour) for safe (``T = 1``: the mean). For every job of the
sweep with such a head, this command tests the checkpoint its quality table used (``checkpoints/best-*.ckpt``) at
each temperature (``--temperatures``, default 0.1, 0.2, 0.38, 0.6, 1.0) as the sweep's test did
(:mod:`colorgan.evaluation.retest`: the same per-photo scores and gray baseline), leaves each test record in
``<job>/temperature/T=<T>/``, and writes into the sweep folder:

- ``temperature.md``: per recipe and temperature, colourfulness, SWD(ab), L1(ab) and PSNR, each mean with its 95 %
  interval over source photos and seeds (the tables of ``quality.md``), and the paired differences to gray and to
  the recipe's regression twin (its name without ``_classes``, e.g. ``pix2pix`` for ``pix2pix_classes``) where
  the sweep has one (the twin's scores are those of the quality table);
- ``temperature.json``: the same, with every per-photo, per-seed score and the checkpoints used;
- ``temperature.png``: one figure, a panel per metric, temperature across, each classification recipe a line with
  its interval band, gray and each regression twin as horizontal lines, the truth's colourfulness dashed.
"""

from __future__ import annotations

import argparse
import json
import logging
from itertools import product
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from PIL import Image, ImageDraw
from tqdm import tqdm

from colorgan.evaluation.quality_report import (
    GRAY_ROW,
    INTERVAL_METRICS,
    compute_intervals,
    data_sources,
    format_intervals,
    job_labels,
)
from colorgan.evaluation.retest import job_config, retest_checkpoint
from colorgan.evaluation.sweep_summary import RESULT_FILE, read_results
from colorgan.training.grid import font as grid_font
from colorgan.training.results import TEST_PHOTOS_FILE, write_json

log = logging.getLogger(__name__)

DEFAULT_TEMPERATURES = (0.1, 0.2, 0.38, 0.6, 1.0)
CLASSES_SUFFIX = "_classes"  # pix2pix_classes is pix2pix with the classification head
STEM = "temperature"
# the panels, in the order of the figure
PANELS = ("colorfulness", "swd_ab", "l1_ab", "psnr")

Scores = dict[str, dict[str, dict[str, float]]]  # seed -> photo -> metric -> value


def row_name(recipe: str, temperature: float) -> str:
    return f"{recipe} T={temperature:g}"


def is_classification(config: DictConfig) -> bool:
    return OmegaConf.select(config, "model.head", default="regression") == "classification"


def table_checkpoint(output_dir: str | Path) -> Path:
    """The checkpoint a job's quality table was tested with: its one ``checkpoints/best-*.ckpt``."""
    found = sorted((Path(output_dir) / "checkpoints").glob("best-*.ckpt"))
    if len(found) != 1:
        raise SystemExit(
            f"{output_dir}/checkpoints holds {len(found)} best-*.ckpt files: the temperature curve tests the one the "
            "quality table used (callbacks.model_checkpoint.save_top_k=1 leaves exactly one)"
        )
    return found[0]


def regression_twin(recipe: str, recipes: list[str]) -> str | None:
    """``pix2pix`` for ``pix2pix_classes`` when the sweep has it, else None."""
    twin = recipe[: -len(CLASSES_SUFFIX)] if recipe.endswith(CLASSES_SUFFIX) else None
    return twin if twin in recipes else None


def _read_scores(test_dir: Path, seed: str, into: Scores, gray: dict[str, dict[str, float]]) -> None:
    photos = json.loads((test_dir / TEST_PHOTOS_FILE).read_text())["photos"]
    into[seed] = {p["photo"]: p["scores"] for p in photos}
    for p in photos:
        gray.setdefault(p["photo"], p["gray"])


def temperature_curve(
    sweep_dir: Path, temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES, accelerator: str | None = None
) -> dict[str, Any]:
    """Test every classification job of the sweep at each temperature and write ``temperature.{md,json,png}``;
    returns the content of ``temperature.json``.

    Raises:
        SystemExit: the folder is no finished sweep, or none of its jobs has a classification head.
    """
    results = sorted(read_results(sweep_dir), key=lambda r: int(r["job"]))
    if not results:
        raise SystemExit(
            f"{sweep_dir}: no */{RESULT_FILE}: not the folder of a finished multirun (the one holding quality.md)"
        )
    configs = [job_config(r["output_dir"]) for r in results]
    labels = job_labels(results, configs)
    classes = [i for i, config in enumerate(configs) if is_classification(config)]
    if not classes:
        raise SystemExit(
            f"{sweep_dir}: none of its {len(results)} jobs ({', '.join(dict.fromkeys(labels))}) has a classification "
            "head, and only a classification head has a temperature: add a recipe trained with "
            "model.head=classification to the sweep"
        )
    scores: dict[str, Scores] = {}
    gray: dict[str, dict[str, float]] = {}
    checkpoints: dict[str, list[str]] = {}
    runs = list(product(classes, temperatures))
    for i, t in tqdm(runs, desc="Checkpoints x temperatures", unit="test", disable=None):
        ckpt = table_checkpoint(results[i]["output_dir"])
        out = Path(results[i]["output_dir"]) / STEM / f"T={t:g}"
        retest_checkpoint(configs[i], ckpt, out, temperature=t, accelerator=accelerator)
        _read_scores(out, str(configs[i].get("seed")), scores.setdefault(row_name(labels[i], t), {}), gray)
        checkpoints.setdefault(labels[i], [])
        if str(ckpt) not in checkpoints[labels[i]]:
            checkpoints[labels[i]].append(str(ckpt))

    recipes = list(dict.fromkeys(labels[i] for i in classes))
    twins = {r: twin for r in recipes if (twin := regression_twin(r, labels)) is not None}
    for i, label in enumerate(labels):
        if label in twins.values():
            test_dir = Path(results[i]["output_dir"])
            if not (test_dir / TEST_PHOTOS_FILE).is_file():
                raise SystemExit(
                    f"{test_dir / TEST_PHOTOS_FILE} is missing: the regression twin {label} was not "
                    "tested (the sweep ran without test=true)"
                )
            _read_scores(test_dir, str(configs[i].get("seed")), scores.setdefault(label, {}), gray)
    pairs = [(row_name(r, t), twin) for r, twin in twins.items() for t in temperatures]
    root = OmegaConf.select(configs[classes[0]], "data.root", default=None)
    intervals = compute_intervals(scores, gray, data_sources(root), pairs, reference=None)
    per_recipe = intervals["per_recipe"]
    curve = {
        r: {"twin": twins.get(r), **{m: [per_recipe[row_name(r, t)][m] for t in temperatures] for m in PANELS}}
        for r in recipes
    }
    report = {
        "sweep": str(sweep_dir),
        "temperatures": list(temperatures),
        "checkpoints": checkpoints,
        "recipes": curve,
        "gray": {m: per_recipe[GRAY_ROW][m] for m in PANELS},
        "twins": {twin: {m: per_recipe[twin][m] for m in PANELS} for twin in twins.values()},
        "truth_colorfulness": intervals["truth_colorfulness"],
        "intervals": {"scores": scores, "gray_scores": gray, **intervals},
    }
    listed = ", ".join(f"{t:g}" for t in temperatures)
    text = (
        f"# Colour against the decoding temperature: {sweep_dir}\n\n"
        f"Each classification recipe's checkpoint from the quality table (best-*.ckpt) tested at T = {listed} "
        "(0: the most likely colour, vivid; 1: the mean colour, safe); rows `RECIPE T=t`. A regression twin (the "
        f"recipe without `{CLASSES_SUFFIX}`) is the quality table's own test of it.\n\n"
        + format_intervals(intervals)
        + f"\n![{', '.join(INTERVAL_METRICS[m][0] for m in PANELS)} against the temperature]({STEM}.png)\n"
    )
    (sweep_dir / f"{STEM}.md").write_text(text)
    write_json(sweep_dir / f"{STEM}.json", report)
    plot_temperature_curve(report).save(sweep_dir / f"{STEM}.png")
    return report


COLOURS = [(31, 119, 180), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]
TWIN_COLOURS = [(214, 39, 40), (140, 86, 75), (227, 119, 194), (188, 189, 34)]
GRAY, TRUTH = (127, 127, 127), (0, 0, 0)


def plot_temperature_curve(report: dict[str, Any]) -> Image.Image:
    """Four panels (colourfulness, SWD(ab), L1(ab), PSNR) against the temperature: each classification recipe a line
    with its 95 % band, gray and the regression twins as horizontal lines with their bands, the truth dashed."""
    panel_w, panel_h, margin, gap = 380, 250, 64, 80
    temps = report["temperatures"]
    recipes, twins = report["recipes"], report["twins"]
    legend = [(r, COLOURS[k % len(COLOURS)]) for k, r in enumerate(recipes)]
    legend += [(t, TWIN_COLOURS[k % len(TWIN_COLOURS)]) for k, t in enumerate(twins)]
    legend += [("gray", GRAY), ("truth", TRUTH)]
    width, height = 2 * panel_w + 2 * margin + gap, 2 * panel_h + 2 * gap + 40
    image = Image.new("RGBA", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, small = grid_font(14), grid_font(11)
    x_text = margin
    for name, colour in legend:
        draw.line([x_text, 20, x_text + 18, 20], fill=colour, width=3)
        draw.text((x_text + 22, 13), name, fill="black", font=small)
        x_text += 40 + int(draw.textlength(name, font=small))
    lo_t, hi_t = min(temps), max(temps)
    for p, metric in enumerate(PANELS):
        x0, y0 = margin + (p % 2) * (panel_w + gap), 50 + (p // 2) * (panel_h + gap)
        flats = [("gray", GRAY, report["gray"][metric])]
        flats += [(t, TWIN_COLOURS[k % len(TWIN_COLOURS)], twins[t][metric]) for k, t in enumerate(twins)]
        values = [e[k] for r in recipes.values() for e in r[metric] for k in ("low", "high")]
        values += [e[k] for _, _, e in flats for k in ("low", "high")]
        if metric == "colorfulness":
            values.append(report["truth_colorfulness"])
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.08 or 1.0
        lo, hi = lo - pad, hi + pad

        def y(v: float, y0: int = y0, lo: float = lo, hi: float = hi) -> float:
            return y0 + panel_h - (v - lo) / (hi - lo) * panel_h

        def x(t: float, x0: int = x0) -> float:
            return x0 + 20 + (t - lo_t) / ((hi_t - lo_t) or 1.0) * (panel_w - 40)

        draw.rectangle([x0, y0, x0 + panel_w, y0 + panel_h], outline="black")
        name, better = INTERVAL_METRICS[metric][0], INTERVAL_METRICS[metric][1]
        hint = {1: " (higher is better)", -1: " (lower is better)", 0: " (closer to the truth)"}[better]
        draw.text((x0, y0 - 20), name + hint, fill="black", font=font)
        for k in range(5):
            v = lo + pad + k * (hi - lo - 2 * pad) / 4
            draw.line([x0 - 4, y(v), x0, y(v)], fill="black")
            draw.text((x0 - 58, y(v) - 6), f"{v:.3g}", fill="black", font=small)
        for t in temps:
            draw.line([x(t), y0 + panel_h, x(t), y0 + panel_h + 4], fill="black")
            draw.text((x(t) - 8, y0 + panel_h + 6), f"{t:g}", fill="black", font=small)
        draw.text((x0 + panel_w // 2 - 40, y0 + panel_h + 22), "temperature T", fill="black", font=small)
        bands = Image.new("RGBA", image.size, (0, 0, 0, 0))
        band = ImageDraw.Draw(bands)
        for _, colour, e in flats:
            band.rectangle([x0 + 1, y(e["high"]), x0 + panel_w - 1, y(e["low"])], fill=(*colour, 40))
        for (_, colour), series in zip(legend, recipes.values()):
            outline = [(x(t), y(e["high"])) for t, e in zip(temps, series[metric])]
            outline += [(x(t), y(e["low"])) for t, e in reversed(list(zip(temps, series[metric])))]
            band.polygon(outline, fill=(*colour, 60))
        image.alpha_composite(bands)
        draw = ImageDraw.Draw(image)
        for _, colour, e in flats:
            draw.line([x0 + 1, y(e["mean"]), x0 + panel_w - 1, y(e["mean"])], fill=colour, width=2)
        if metric == "colorfulness":
            v = y(report["truth_colorfulness"])
            for s in range(x0 + 1, x0 + panel_w - 1, 12):
                draw.line([s, v, min(s + 6, x0 + panel_w - 1), v], fill=TRUTH, width=2)
        for (_, colour), series in zip(legend, recipes.values()):
            points = [(x(t), y(e["mean"])) for t, e in zip(temps, series[metric])]
            draw.line(points, fill=colour, width=2)
            for px, py in points:
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
    return image.convert("RGB")


def parse_temperatures(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give temperatures as numbers, e.g. 0.1,0.38,1.0") from None
    if not values or any(not 0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: temperatures go from 0 (most likely colour) to 1 (the mean)")
    return tuple(sorted(set(values)))


def main(argv: list[str] | None = None) -> None:
    """``python -m colorgan.evaluation.temperature_curve SWEEP_DIR [--temperatures 0.1,0.2,0.38,0.6,1.0]``: each
    classification recipe of a sweep tested at several decoding temperatures, with intervals."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sweep_dir", type=Path, help="a quality table's sweep folder (the one holding quality.md)")
    parser.add_argument(
        "--temperatures",
        type=parse_temperatures,
        default=DEFAULT_TEMPERATURES,
        help="comma-separated, each in [0, 1] (default: 0.1,0.2,0.38,0.6,1.0)",
    )
    parser.add_argument("--accelerator", help="test on this accelerator (cpu, gpu, ...) instead of the jobs' own")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    temperature_curve(args.sweep_dir, args.temperatures, args.accelerator)
    text = (args.sweep_dir / f"{STEM}.md").read_text()
    print(text.split("\n\n", 2)[2], end="")
    print(f"Wrote {args.sweep_dir / STEM}.md, {STEM}.json and {STEM}.png")


if __name__ == "__main__":
    main()
