"""The points curve: a hinted model's quality against the number of colour points revealed.

Zhang et al. 2017 (``test_sweep.py``): the sweep, its intervals, its JSON and its plot.

For each number of points ``N`` (0, 1, 2, 5, 10, 20, 50, 100 by default) every test photo gets ``N`` points drawn
from its true colours exactly as in training (:mod:`colorgan.training.hints`, the paper's settings: squares of 1-9
px placed around the centre, each the mean ab of its square; near-gray photos get none), with a generator seeded by
``(seed, N, photo index)``: every model compared sees the same points, whatever its batch size or device. The
hinted model colorizes each photo with those points; PSNR (RGB) and the ab error (``l1_ab``: mean ``|Δab|`` on the
normalised ab, ×110 for CIE units) are scored as ``colorgan.evaluate`` scores them, photo by photo, and averaged
with a 95 % bootstrap interval over the source photos (:mod:`colorgan.evaluation.intervals`). An automatic model,
when given, is scored once on the same photos: the 0-point baseline the curve should start from; gray (ab = 0) is
the floor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from colorgan.color import gray_rgb, model_lab_to_rgb
from colorgan.evaluation.intervals import SourcePhotos, bootstrap_difference, bootstrap_mean, by_source
from colorgan.metrics import per_photo_scores
from colorgan.training.grid import font as grid_font
from colorgan.training.hints import HintSettings, photo_generator, simulate_hints

POINTS = (0, 1, 2, 5, 10, 20, 50, 100)
SCORES = {"psnr": "PSNR (dB), higher is better", "l1_ab": "ab error (L1, normalised ab), lower is better"}


@torch.inference_mode()
def sweep(
    colorizer: Any,
    datamodule: Any,
    device: torch.device,
    points: Sequence[int] = POINTS,
    seed: int = 0,
    baseline: Any | None = None,
) -> dict[str, Any]:
    """Score ``colorizer`` (a hinted :class:`~colorgan.inference.colorizer.Colorizer`) on the test split of
    ``datamodule`` (already set up) with ``N`` points for each ``N`` of ``points``; ``baseline``: an automatic
    Colorizer scored on the same photos. Returns per-photo scores: ``{"names": [...], "hinted": {N: {score:
    [...]}}, "automatic": {score: [...]} | None, "gray": {score: [...]}}``.
    """
    settings = HintSettings(enabled=True)  # the paper's protocol, whatever the model was trained with
    files = list(datamodule.test_set.files)
    root = Path(datamodule.root)
    names: list[str] = []
    hinted: dict[int, dict[str, list[float]]] = {n: {k: [] for k in SCORES} for n in points}
    automatic: dict[str, list[float]] | None = {k: [] for k in SCORES} if baseline is not None else None
    gray_scores: dict[str, list[float]] = {k: [] for k in SCORES}

    def add(into: dict[str, list[float]], pred: torch.Tensor, rgb: torch.Tensor, ab: torch.Tensor) -> None:
        scores = per_photo_scores(pred, rgb, ab)
        for k in SCORES:
            into[k].extend(scores[k].cpu().tolist())

    for batch in tqdm(datamodule.test_dataloader(), desc="Points sweep", unit="batch", disable=None):
        if batch["image"].shape[0] == 0:
            continue
        lab = datamodule.to_lab_batch(batch["image"].to(device), train=False)
        L, ab, rgb = lab["L"], lab["ab"], lab["rgb"]
        indices = [int(i) for i in batch["index"]]
        names.extend(_relative(files[i], root) for i in indices)
        add(gray_scores, gray_rgb(L), rgb, ab)
        if baseline is not None:
            add(automatic, model_lab_to_rgb(L, baseline.predict_ab(L), keep_lightness=True), rgb, ab)
        for n in points:
            maps = torch.cat([
                simulate_hints(ab[j : j + 1], settings, count=n, generator=photo_generator(seed, n, index)).maps
                for j, index in enumerate(indices)
            ])
            pred = model_lab_to_rgb(L, colorizer.predict_ab(L, maps), keep_lightness=True)
            add(hinted[n], pred, rgb, ab)
    return {"names": names, "hinted": hinted, "automatic": automatic, "gray": gray_scores}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)


def summarise(raw: dict[str, Any], seed: int = 0, sources: SourcePhotos | None = None) -> dict[str, Any]:
    """Means and 95 % intervals (bootstrap over source photos) of :func:`sweep`'s scores, and what 0 points cost
    the hinted model against the automatic one (hinted at 0 points minus automatic, with its paired interval).
    ``sources``: which source photo each test photo was cut from (default: each photo is its own)."""
    names = raw["names"]
    sources = sources or SourcePhotos()

    def estimate(values: list[float]) -> dict[str, float]:
        _, per_source = by_source(names, np.asarray(values), sources)
        e = bootstrap_mean(per_source, seed=seed)
        return {"mean": e.mean, "low": e.low, "high": e.high}

    out: dict[str, Any] = {
        "points": list(raw["hinted"]),
        "hinted": {k: [estimate(raw["hinted"][n][k]) for n in raw["hinted"]] for k in SCORES},
        "gray": {k: estimate(raw["gray"][k]) for k in SCORES},
        "automatic": None,
        "zero_points_cost": None,
        "photos": len(names),
        "source_photos": len(by_source(names, np.zeros(len(names)), sources)[0]),
        "grouping": sources.describe(),
    }
    def difference(values: list[float], reference: list[float]) -> dict[str, Any]:
        _, a = by_source(names, np.asarray(values), sources)
        _, b = by_source(names, np.asarray(reference), sources)
        d = bootstrap_difference(a, b, seed=seed)
        return {"mean": d.mean, "low": d.low, "high": d.high, "excludes_zero": d.excludes_zero}

    # each number of points against gray and against the automatic model, paired over the same source photos
    out["versus_gray"] = {k: [difference(raw["hinted"][n][k], raw["gray"][k]) for n in raw["hinted"]] for k in SCORES}
    out["versus_automatic"] = None
    if raw["automatic"] is not None:
        out["automatic"] = {k: estimate(raw["automatic"][k]) for k in SCORES}
        out["versus_automatic"] = {
            k: [difference(raw["hinted"][n][k], raw["automatic"][k]) for n in raw["hinted"]] for k in SCORES
        }
        if 0 in raw["hinted"]:
            zero = list(raw["hinted"]).index(0)
            out["zero_points_cost"] = {k: out["versus_automatic"][k][zero] for k in SCORES}
    # every photo's own scores, so that anyone can recompute the intervals
    out["per_photo"] = {
        "names": list(names),
        "hinted": {str(n): {k: list(v) for k, v in scores.items()} for n, scores in raw["hinted"].items()},
        "automatic": raw["automatic"],
        "gray": raw["gray"],
    }
    return out


def format_differences(summary: dict[str, Any]) -> str:
    """Each number of points minus gray and minus the automatic model (paired over source photos, 95 % intervals),
    a ``*`` where the interval excludes 0."""
    def cell(d: dict[str, Any]) -> str:
        return f"{d['mean']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]{'*' if d['excludes_zero'] else ' '}"

    against = [("gray", summary["versus_gray"])]
    if summary.get("versus_automatic"):
        against.append(("automatic", summary["versus_automatic"]))
    header = f"{'points':>10}" + "".join(f"  {f'{k} minus {name}':>30}" for name, _ in against for k in SCORES)
    lines = [header]
    for i, n in enumerate(summary["points"]):
        lines.append(f"{n:>10}" + "".join(f"  {cell(d[k][i]):>30}" for _, d in against for k in SCORES))
    return "\n".join(lines)


def format_curve(summary: dict[str, Any]) -> str:
    """The curve as a text table: one row per number of points, then the automatic model and gray."""
    def cell(e: dict[str, float]) -> str:
        return f"{e['mean']:.4f} [{e['low']:.4f}, {e['high']:.4f}]"

    lines = [f"{'points':>10}  {'psnr [95% interval]':>28}  {'l1_ab [95% interval]':>28}"]
    for i, n in enumerate(summary["points"]):
        lines.append(f"{n:>10}  {cell(summary['hinted']['psnr'][i]):>28}  {cell(summary['hinted']['l1_ab'][i]):>28}")
    if summary["automatic"] is not None:
        a = summary["automatic"]
        lines.append(f"{'automatic':>10}  {cell(a['psnr']):>28}  {cell(a['l1_ab']):>28}")
    g = summary["gray"]
    lines.append(f"{'gray':>10}  {cell(g['psnr']):>28}  {cell(g['l1_ab']):>28}")
    return "\n".join(lines)


def plot_curve(summary: dict[str, Any], title: str = "") -> Image.Image:
    """Two panels, PSNR and ab error against the number of points (evenly spaced), with their 95 % intervals; the
    automatic model and gray as horizontal lines with bands."""
    panel_w, panel_h, margin = 420, 300, 60
    width, height = 2 * panel_w + 2 * margin + 20, panel_h + margin + 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, small = grid_font(14), grid_font(11)
    if title:
        draw.text((margin, 10), title, fill="black", font=font)
    colours = {"hinted": (31, 119, 180), "automatic": (214, 39, 40), "gray": (127, 127, 127)}
    pts = summary["points"]
    for p, (key, label) in enumerate(SCORES.items()):
        x0, y0 = margin + p * (panel_w + margin), margin
        series = summary["hinted"][key]
        flats = [summary[k][key] for k in ("automatic", "gray") if summary[k] is not None]
        lo = min([e["low"] for e in series] + [e["low"] for e in flats])
        hi = max([e["high"] for e in series] + [e["high"] for e in flats])
        pad = (hi - lo) * 0.08 or 1.0
        lo, hi = lo - pad, hi + pad

        def y(v: float, y0: int = y0, lo: float = lo, hi: float = hi) -> float:
            return y0 + panel_h - (v - lo) / (hi - lo) * panel_h

        def x(i: int, x0: int = x0) -> float:
            return x0 + 20 + i * (panel_w - 40) / max(len(pts) - 1, 1)

        draw.rectangle([x0, y0, x0 + panel_w, y0 + panel_h], outline="black")
        for t in np.linspace(lo + pad, hi - pad, 5):
            draw.line([x0 - 4, y(t), x0, y(t)], fill="black")
            draw.text((x0 - 52, y(t) - 6), f"{t:.3g}", fill="black", font=small)
        for i, n in enumerate(pts):
            draw.text((x(i) - 6, y0 + panel_h + 4), str(n), fill="black", font=small)
        draw.text((x0 + panel_w // 2 - 60, y0 + panel_h + 20), "points revealed", fill="black", font=small)
        draw.text((x0, y0 - 18), label, fill="black", font=small)
        for name in ("gray", "automatic"):
            e = summary[name][key] if summary[name] is not None else None
            if e is None:
                continue
            band = Image.new("RGBA", image.size)
            ImageDraw.Draw(band).rectangle([x0 + 1, y(e["high"]), x0 + panel_w - 1, y(e["low"])],
                                           fill=(*colours[name], 50))
            image.paste(Image.alpha_composite(image.convert("RGBA"), band).convert("RGB"))
            draw = ImageDraw.Draw(image)
            draw.line([x0 + 1, y(e["mean"]), x0 + panel_w - 1, y(e["mean"])], fill=colours[name], width=2)
            draw.text((x0 + panel_w - 80, y(e["mean"]) - 14), name, fill=colours[name], font=small)
        for i, e in enumerate(series):
            draw.line([x(i), y(e["low"]), x(i), y(e["high"])], fill=colours["hinted"], width=1)
            if i:
                draw.line([x(i - 1), y(series[i - 1]["mean"]), x(i), y(e["mean"])], fill=colours["hinted"], width=2)
            draw.ellipse([x(i) - 3, y(e["mean"]) - 3, x(i) + 3, y(e["mean"]) + 3], fill=colours["hinted"])
        draw.text((x(0) + 8, y(series[0]["mean"]) + 4), "hinted", fill=colours["hinted"], font=small)
    return image


def write_curve(summary: dict[str, Any], output_dir: Path, title: str = "") -> tuple[Path, Path]:
    """Write ``hints_curve.json`` and ``hints_curve.png`` into ``output_dir``; returns their paths."""
    json_path, png_path = output_dir / "hints_curve.json", output_dir / "hints_curve.png"
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    plot_curve(summary, title).save(png_path)
    return json_path, png_path
