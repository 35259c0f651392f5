"""Which metric should pick the best checkpoint? L1 on ab against colour-distribution candidates, measured.

    python scripts/selection_metric_evidence.py                  # controlled predictors only (seconds)
    python scripts/selection_metric_evidence.py --train          # + two demo runs, Pix2Pix and L1 only (minutes)
    python scripts/selection_metric_evidence.py --runs DIR ...   # the runs of an earlier --train, read again
    python scripts/selection_metric_evidence.py --train --figure docs/selection_metric.jpg
    python scripts/selection_metric_evidence.py --write-docs     # put the controlled table and its findings into
                                                                 # docs/measure/choosing-checkpoint.md (between the
                                                                 # selection-evidence marks)

1. Controlled predictors on the demo's held-out test photos (128 px): the truth itself, the truth desaturated
   (ab x 0.5), the truth with every hue turned by 90 degrees, the truth's colours mirrored left to right (the
   right palette in the wrong places), each photo painted with the next photo's colours, a constant warm "sepia"
   cast and plain gray. Each candidate metric ranks them.
2. Runs: ``+experiment=demo`` (Pix2Pix: GAN + 100 x L1) and the same with the GAN loss never switched on
   (``model.l1_warmup_epochs`` past the end: L1 regression only), each for ``--epochs`` epochs. After every
   validation the candidates are computed on the validation photos; the report says which epoch each candidate
   would keep as ``best-*.ckpt`` and which run a sweep on it would call the winner. ``--figure`` draws the
   validation photos as colorized by the epoch each candidate picks.

Every picture is converted as ``colorize`` delivers it (the photo's lightness kept), through colorgan.metrics.
Output: Markdown tables on stdout (the documentation's tables come from here). The controlled table and the
sentences drawn from it are the text of docs/measure/choosing-checkpoint.md between
``<!-- selection-evidence:start -->`` and ``<!-- ...:end -->``; ``--write-docs`` rewrites them, and a test checks
that the page says what this script prints.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from colorgan.color import AB_SCALE, gray_rgb, model_lab_to_rgb, rgb_to_model_lab, uint8_to_float
from colorgan.config import asset_path, config_dir
from colorgan.data import ColorizationDataModule
from colorgan.metrics import SELECTION_METRIC, ABDistributionDistance, ColorizationMetrics
from colorgan.training.grid import labelled_grid

ROOT = Path(__file__).resolve().parents[1]
SIZE = 128
SEPIA_AB = (6.0, 20.0)  # CIELAB a*, b*: a warm brown cast, about the tone of an old sepia print
EVIDENCE_FILE = "selection_evidence.json"
IMAGES_FILE = "selection_evidence_images.pt"
RUNS = {
    "pix2pix": [],
    "l1_only": ["model.l1_warmup_epochs=100000"],
}
# the candidates, all lower-is-better: name -> what it is
CANDIDATES = {
    "l1_ab": "L1 on ab (the selection metric before)",
    "swd_ab": "per-image sliced Wasserstein distance between predicted and true ab",
    "swd_ab_set": "the same between the pooled ab of the whole set",
    "abs_cf_gap": "|colourfulness gap|, truth minus output",
    "l1_swd_ab": "l1_ab + swd_ab (colorgan's selection metric)",
}


def scores(pred_rgb: Tensor, true_rgb: Tensor) -> dict[str, float]:
    """Every candidate for the pictures ``pred_rgb`` ``(N, 3, H, W)`` against ``true_rgb``, both in [0, 1]."""
    metrics = ColorizationMetrics()
    pooled = ABDistributionDistance(per_image=False)
    metrics.update(pred_rgb, true_rgb)
    pooled.update(rgb_to_model_lab(pred_rgb)[1], rgb_to_model_lab(true_rgb)[1])
    values = {k: float(v) for k, v in metrics.compute().items()}
    out = {
        "l1_ab": values["l1_ab"],
        "swd_ab": values["swd_ab"],
        "swd_ab_set": float(pooled.compute()),
        "abs_cf_gap": abs(values["colorfulness_gap"]),
        "l1_swd_ab": values["l1_swd_ab"],
    }
    out["colorfulness"] = values["colorfulness"]
    out["psnr"] = values["psnr"]
    return out


def demo_photos(split: str) -> Tensor:
    """The demo's photos of ``split`` as validation sees them: uint8 ``(N, 3, 128, 128)``."""
    dm = ColorizationDataModule(root=asset_path("demo"), image_size=SIZE, num_workers=0)
    dm.setup({"train": "fit", "test": "test"}[split])
    dataset = {"train": dm.train_set, "test": dm.test_set}[split]
    return torch.stack([dataset[i]["image"] for i in range(len(dataset))])


def rotate_hue(ab: Tensor, degrees: float) -> Tensor:
    t = math.radians(degrees)
    a, b = ab[:, 0], ab[:, 1]
    return torch.stack([a * math.cos(t) - b * math.sin(t), a * math.sin(t) + b * math.cos(t)], dim=1)


def controlled_predictors(photos: Tensor) -> dict[str, Tensor]:
    """name -> the normalised ab each predictor paints on ``photos``."""
    _, ab = rgb_to_model_lab(photos)
    sepia = torch.tensor(SEPIA_AB).div(AB_SCALE).view(1, 2, 1, 1).expand_as(ab)
    return {
        "truth": ab,
        "desaturated (ab x 0.5)": ab * 0.5,
        "hue turned 90 deg": rotate_hue(ab, 90.0),
        "colours mirrored": ab.flip(-1),
        "another photo's colours": ab.roll(1, dims=0),
        f"sepia (a*={SEPIA_AB[0]:g}, b*={SEPIA_AB[1]:g})": sepia,
        "gray (ab = 0)": torch.zeros_like(ab),
    }


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


GRAY, SEPIA, MIRRORED, OTHER, DESATURATED, HUE = (
    "gray (ab = 0)", f"sepia (a*={SEPIA_AB[0]:g}, b*={SEPIA_AB[1]:g})", "colours mirrored", "another photo's colours",
    "desaturated (ab x 0.5)", "hue turned 90 deg",
)
README_START, README_END = "<!-- selection-evidence:start -->", "<!-- selection-evidence:end -->"


def controlled_results() -> tuple[int, dict[str, dict[str, float]]]:
    """The number of demo test photos and every candidate's value for every controlled predictor on them."""
    photos = demo_photos("test")
    truth = uint8_to_float(photos)
    L_, _ = rgb_to_model_lab(truth)
    return len(photos), {
        name: scores(model_lab_to_rgb(L_, ab, keep_lightness=True), truth)
        for name, ab in controlled_predictors(photos).items()
    }


def controlled_table(n: int, results: dict[str, dict[str, float]]) -> str:
    ranks = {
        c: {name: 1 + sorted(results, key=lambda n: results[n][c]).index(name) for name in results} for c in CANDIDATES
    }
    rows = [[name, *(f"{r[c]:.4f} ({ranks[c][name]})" for c in CANDIDATES)] for name, r in results.items()]
    return markdown(["predictor", *CANDIDATES], rows)


def _change(value: float, reference: float) -> str:
    """How ``value`` compares with ``reference`` in words: "takes 13 % off" or "adds 4 % to"."""
    percent = 100 * (reference - value) / reference
    return f"takes {percent:.0f} % off" if percent >= 0 else f"adds {-percent:.0f} % to"


def _rank(results: dict[str, dict[str, float]], candidate: str, name: str) -> int:
    return 1 + sorted(results, key=lambda n: results[n][candidate]).index(name)


def findings(results: dict[str, dict[str, float]]) -> list[str]:
    """What the controlled table shows, in sentences computed from it (the README's bullets)."""
    gray, sepia = results[GRAY], results[SEPIA]
    out = [
        f"Against gray, a constant sepia cast: L1 {_change(sepia['l1_ab'], gray['l1_ab'])} gray's error "
        f"({sepia['l1_ab']:.4f} against {gray['l1_ab']:.4f}); `swd_ab` {_change(sepia['swd_ab'], gray['swd_ab'])} "
        f"gray's, the sum {_change(sepia['l1_swd_ab'], gray['l1_swd_ab'])} gray's."
    ]
    below = [name for name in (OTHER, SEPIA) if results[name]["l1_ab"] < gray["l1_ab"]]
    if below:
        out.append("L1 ranks " + " and ".join(f"\"{n}\"" for n in below) + " ahead of gray; `l1_swd_ab` ranks "
                   + " and ".join(f"\"{n}\" {_rank(results, 'l1_swd_ab', n)}" for n in below)
                   + f", gray {_rank(results, 'l1_swd_ab', GRAY)}.")
    out.append(
        f"`swd_ab` alone rates the right palette in the wrong places (colours mirrored) at "
        f"{results[MIRRORED]['swd_ab']:.4f}, rank {_rank(results, 'swd_ab', MIRRORED)}: that is why L1 stays in the "
        "sum."
    )
    out.append(
        f"The pooled distance (`swd_ab_set`) ranks a photo painted in another photo's colours "
        f"{_rank(results, 'swd_ab_set', OTHER)} of {len(results)} ({results[OTHER]['swd_ab_set']:.4f}, against "
        f"{results[OTHER]['swd_ab']:.4f} per image), and the colourfulness gap ranks the truth with every hue turned "
        f"by 90° {_rank(results, 'abs_cf_gap', HUE)}: both are out."
    )
    ahead = [f"`{c}`" for c in CANDIDATES if results[DESATURATED][c] < results[MIRRORED][c]]
    out.append(
        "The desaturated truth ranks ahead of the mirrored colours by "
        + (", ".join(ahead) if ahead else "no candidate")
        + (", and behind them by the others" if 0 < len(ahead) < len(CANDIDATES) else "")
        + ": which of the two is worse depends on the photo's content, and judging that takes a model of what is in "
        "the photo (FID, where its weights are on disk)."
    )
    return out


def readme_block(n: int, results: dict[str, dict[str, float]]) -> str:
    """The documentation's text between the selection-evidence marks."""
    head = (f"Controlled predictors on the demo's {n} test photos at {SIZE} px, converted as colorize delivers them "
            "(value, rank; lower is better):")
    bullets = "\n".join("- " + line for line in findings(results))
    return f"{README_START}\n{head}\n\n{controlled_table(n, results)}\n\n{bullets}\n{README_END}"


DOCS_PAGE = ROOT / "docs" / "measure" / "choosing-checkpoint.md"


def write_readme(block: str, readme: Path = DOCS_PAGE) -> None:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} block to rewrite")
    before, rest = text.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    readme.write_text(before + block + after)
    print(f"Wrote the controlled table and its findings into {readme}")


class EvidenceRecorder(L.Callback):
    """After each validation, every candidate on the validation photos, and those photos as colorized."""

    def __init__(self, path: str, max_photos: int = 64) -> None:
        self.path = Path(path)
        self.max_photos = max_photos
        self.records: list[dict[str, float]] = []
        self.images: list[Tensor] = []

    @torch.no_grad()
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        photos = trainer.datamodule.sample_images(self.max_photos)
        truth = uint8_to_float(photos.to(pl_module.device))
        L_, _ = rgb_to_model_lab(truth)
        was_training = pl_module.training
        pl_module.eval()
        try:
            pred = model_lab_to_rgb(L_, pl_module(L_), keep_lightness=True)
        finally:
            pl_module.train(was_training)
        self.records.append({"epoch": trainer.current_epoch, **scores(pred.cpu(), truth.cpu())})
        self.images.append(pred.mul(255).round().to(torch.uint8).cpu())
        if not hasattr(self, "_truth"):
            self._truth = photos.cpu()
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / EVIDENCE_FILE).write_text(json.dumps(self.records, indent=1) + "\n")
        torch.save({"truth": self._truth, "epochs": torch.stack(self.images)}, self.path / IMAGES_FILE)


def train_run(name: str, overrides: list[str], epochs: int, out: Path) -> Path:
    """Train ``+experiment=demo`` with ``overrides`` into ``out/name`` and return that folder."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict

    from colorgan.train import train

    folder = out / name
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=[
            "+experiment=demo", f"trainer.max_epochs={epochs}", "logger=csv", "trainer.enable_progress_bar=false",
            f"paths.output_dir={folder}", *overrides,
        ])
    GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.callbacks.selection_evidence = {
            "_target_": f"{EvidenceRecorder.__module__}.{EvidenceRecorder.__qualname__}", "path": str(folder)
        }
    start = time.monotonic()
    train(cfg)
    recipe = " ".join(overrides) or "the demo as it is"
    print(f"trained {name} ({recipe}) in {time.monotonic() - start:.0f} s: {folder}")
    return folder


def run_tables(folders: list[Path]) -> tuple[str, dict[str, dict[str, int]]]:
    """The epoch each candidate picks in each run, and the run a sweep on it would pick."""
    records = {f.name: json.loads((f / EVIDENCE_FILE).read_text()) for f in folders}
    picks = {run: {c: min(recs, key=lambda r: r[c])["epoch"] for c in CANDIDATES} for run, recs in records.items()}
    rows = []
    for run, recs in records.items():
        by_epoch = {r["epoch"]: r for r in recs}
        for c in CANDIDATES:
            r = by_epoch[picks[run][c]]
            rows.append([run, c, str(r["epoch"]), *(f"{r[k]:.4f}" for k in CANDIDATES), f"{r['colorfulness']:.1f}"])
    n = len(next(iter(records.values())))
    text = f"The epoch each candidate keeps as best-*.ckpt ({n} validations per run; the candidates' values there)"
    text += "\n\n" + markdown(["run", "picked by", "epoch", *CANDIDATES, "colourfulness"], rows)
    sweep_rows = []
    for c in CANDIDATES:
        best = {run: min(r[c] for r in recs) for run, recs in records.items()}
        winner = min(best, key=best.get)
        sweep_rows.append([c, winner, *(f"{best[run]:.4f}" for run in records)])
    text += "\n\nThe run a sweep on each candidate would call the winner (each run's best value)\n\n"
    text += markdown(["candidate", "winner", *records], sweep_rows)
    return text, picks


def figure(folders: list[Path], picks: dict[str, dict[str, int]], output: Path) -> None:
    """gray | the validation photos as colorized at the epoch each candidate picks (per run) | truth."""
    rows = []
    truth = None
    for folder in folders:
        saved = torch.load(folder / IMAGES_FILE, weights_only=True)
        epochs = [r["epoch"] for r in json.loads((folder / EVIDENCE_FILE).read_text())]
        truth = uint8_to_float(saved["truth"])
        by_epoch: dict[int, list[str]] = {}
        for c, epoch in picks[folder.name].items():
            if c in ("l1_ab", SELECTION_METRIC):
                by_epoch.setdefault(epoch, []).append(c)
        for epoch, names in sorted(by_epoch.items()):
            label = f"{folder.name} ep{epoch} ({', '.join(names)})"
            rows.append((label, uint8_to_float(saved["epochs"][epochs.index(epoch)])))
    assert truth is not None
    grid = labelled_grid([("gray", gray_rgb(rgb_to_model_lab(truth)[0])), *rows, ("truth", truth)])
    output.parent.mkdir(parents=True, exist_ok=True)
    grid.save(output, **({"quality": 90} if output.suffix.lower() in (".jpg", ".jpeg") else {"optimize": True}))
    print(f"Wrote {output} ({output.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="store_true", help="train the two demo runs")
    parser.add_argument("--epochs", type=int, default=40, help="epochs of each run (default 40, as the demo)")
    parser.add_argument("--out", type=Path, default=ROOT / "logs" / "selection_evidence", help="where runs go")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="folders of earlier runs to report")
    parser.add_argument("--recipes", nargs="*", choices=sorted(RUNS), default=list(RUNS), help="runs to train")
    parser.add_argument("--figure", type=Path, help="write the picked epochs' pictures here")
    parser.add_argument("--write-docs", "--write-readme", dest="write_docs", action="store_true",
                        help="rewrite the controlled table in docs/measure/choosing-checkpoint.md")
    args = parser.parse_args()

    block = readme_block(*controlled_results())
    print(block)
    if args.write_docs:
        write_readme(block)
    folders = list(args.runs)
    if args.train:
        out = args.out / time.strftime("%Y-%m-%d_%H-%M-%S")
        folders += [train_run(name, RUNS[name], args.epochs, out) for name in args.recipes]
    if folders:
        text, picks = run_tables(folders)
        print("\n" + text)
        if args.figure:
            figure(folders, picks, args.figure)


if __name__ == "__main__":
    main()
