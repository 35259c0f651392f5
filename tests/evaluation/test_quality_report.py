"""The quality table of a multirun with test=true: rows, numbers, the grid, and the recipe comparison command."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from colorgan.config import asset_path, config_dir
from colorgan.data import find_images
from colorgan.evaluation.intervals import SOURCES_FILE, write_sources_file
from colorgan.evaluation.quality_report import (
    GRAY_ROW,
    QUALITY_GRID_FILE,
    QUALITY_JSON_FILE,
    QUALITY_TABLE_FILE,
    job_labels,
    write_quality_report,
)
from colorgan.metrics import SELECTION_METRIC
from colorgan.training.results import TEST_IMAGES_FILE, TEST_METRICS_FILE, TEST_PHOTOS_FILE

from helpers.runs import TINY, run_module

METRICS = ("psnr", "ssim", "l1_ab", "swd_ab", SELECTION_METRIC, "colorfulness", "colorfulness_true",
           "colorfulness_gap")


def _photos(seed: int, n: int = 3, size: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _job(sweep: Path, num: int, overrides: list[str], recipe: str | None, truth: torch.Tensor, score: float) -> dict:
    """A job folder as a tested multirun job leaves it; returns its result.yaml content."""
    folder = sweep / str(num)
    metrics = {f"test/{m}": score + i for i, m in enumerate(METRICS)}
    metrics.update({f"test/gray/{m}": 100.0 + i for i, m in enumerate(METRICS)})
    (folder / "samples").mkdir(parents=True)
    (folder / TEST_METRICS_FILE).write_text(json.dumps({"metrics": metrics, "photos": 6}))
    torch.save({"gray": truth // 2, "colorized": _photos(100 + num), "truth": truth}, folder / TEST_IMAGES_FILE)
    config = {"recipe_name": recipe, "data": {"root": "/photos", "image_size": 16},
              "trainer": {"max_time": "00:00:08:00", "max_epochs": -1}}
    OmegaConf.save(OmegaConf.create(config), folder / "config.yaml")
    return {"job": num, "status": "COMPLETED", "overrides": overrides, "output_dir": str(folder)}


def test_labels_are_recipe_names_else_the_overrides_that_differ() -> None:
    results = [{"job": i, "overrides": ["data.root=/x", o]} for i, o in enumerate(["a=1", "a=2", "a=3"])]
    configs = [OmegaConf.create({"recipe_name": name}) for name in ("mine", None, None)]
    assert job_labels(results, configs) == ["mine", "a=2", "a=3"]
    same = [OmegaConf.create({"recipe_name": "same"})] * 2
    assert job_labels(results[:2], same) == ["same (job 0)", "same (job 1)"]
    assert job_labels([{"job": 4, "overrides": ["x=1"]}], [OmegaConf.create()]) == ["job 4"]


def test_report_has_a_gray_row_and_a_row_per_tested_job(tmp_path: Path, caplog) -> None:
    truth = _photos(0)
    results = [
        _job(tmp_path, 0, ["+recipe=pix2pix", "data.root=/photos"], "pix2pix", truth, 1.0),
        _job(tmp_path, 1, ["model.gan_mode=lsgan", "data.root=/photos"], None, truth, 2.0),
        _job(tmp_path, 2, ["model.gan_mode=hinge", "data.root=/photos"], None, _photos(9), 3.0),  # other photos
        {"job": 3, "status": "FAILED", "overrides": ["data.root=/photos"], "output_dir": str(tmp_path / "3")},
    ]
    with caplog.at_level(logging.WARNING):
        report = write_quality_report(tmp_path, results)

    names = ["pix2pix", "model.gan_mode=lsgan", "model.gan_mode=hinge"]
    assert [j["name"] for j in report["jobs"]] == names  # the failed job left no test metrics
    assert report["jobs"][1]["metrics"] == {m: 2.0 + i for i, m in enumerate(METRICS)}
    assert report["gray_baseline"] == {m: 100.0 + i for i, m in enumerate(METRICS)}
    assert report["budget"] == {"max_time": "00:00:08:00", "max_epochs": -1} and report["data"]["photos"] == 6
    assert json.loads((tmp_path / QUALITY_JSON_FILE).read_text()) == report

    table = (tmp_path / QUALITY_TABLE_FILE).read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [r.split("|")[1].strip() for r in rows] == [GRAY_ROW, *names]
    assert rows[1].split("|")[2].strip() == "1.00"  # pix2pix's PSNR
    assert SELECTION_METRIC in table and "00:00:08:00" in table

    # gray | pix2pix | lsgan | truth: the hinge job colorized other photos and is left out, with a warning
    grid = Image.open(tmp_path / QUALITY_GRID_FILE)
    assert grid.height == 4 * (16 + 2) + 2
    assert "model.gan_mode=hinge colorized other test photos" in caplog.text


def test_no_report_without_tested_jobs(tmp_path: Path) -> None:
    (tmp_path / "0").mkdir()
    untested = {"job": 0, "status": "COMPLETED", "output_dir": str(tmp_path / "0")}
    assert write_quality_report(tmp_path, [untested]) is None
    assert not (tmp_path / QUALITY_TABLE_FILE).exists()


@pytest.mark.slow
def test_recipe_comparison_prints_and_writes_the_quality_table(tmp_path: Path) -> None:
    """`+compare=recipes`: a multirun over two recipes with test=true ends with the table and one grid."""
    proc = run_module(
        "colorgan.train", "+experiment=demo", *TINY, "logger=csv", f"paths.root_dir={tmp_path}", "+compare=recipes",
        "+recipe=pix2pix,l1_only", "seed=0,1", cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    [sweep] = list((tmp_path / "logs" / "demo" / "multiruns").iterdir())
    report = json.loads((sweep / QUALITY_JSON_FILE).read_text())
    assert sorted((j["name"], j["seed"]) for j in report["jobs"]) == [
        ("l1_only", 0), ("l1_only", 1), ("pix2pix", 0), ("pix2pix", 1)]
    # every job scored every test photo, by name, and the per-photo scores average to the job's test numbers
    test_photos = sorted(p.relative_to(asset_path("demo")).as_posix()
                         for p in find_images(Path(asset_path("demo")) / "test"))
    for job in report["jobs"]:
        photos = json.loads((Path(job["output_dir"]) / TEST_PHOTOS_FILE).read_text())["photos"]
        assert sorted(p["photo"] for p in photos) == test_photos
        for metric in ("l1_ab", "swd_ab", "colorfulness"):
            mean = sum(p["scores"][metric] for p in photos) / len(photos)
            assert mean == pytest.approx(job["metrics"][metric], rel=1e-4, abs=1e-6), metric
    iv = report["intervals"]
    assert iv["photos"] == len(test_photos) and iv["per_recipe"]["pix2pix"]["seeds"] == ["0", "1"]
    assert set(iv["differences"]["l1_only"]) == {"gray", "pix2pix"}
    assert "Real differences: " in proc.stdout + proc.stderr
    for job in report["jobs"][:2]:
        result = OmegaConf.load(Path(job["output_dir"]) / "result.yaml")
        assert job["metrics"] == pytest.approx({k.split("/", 1)[1]: v for k, v in result.test.items()
                                                if not k.startswith("test/gray/")})
        assert set(METRICS) <= set(job["metrics"])
    assert report["gray_baseline"]["colorfulness"] < 0.1 and report["data"]["photos"] == 6
    assert report["best_checkpoint_by"] == f"val/{SELECTION_METRIC}"
    assert "| gray baseline |" in proc.stdout + proc.stderr  # printed as well

    grid = Image.open(sweep / QUALITY_GRID_FILE)
    photos = 3  # TINY: data.num_sample_images=3 at 64 px; rows gray | pix2pix | l1_only | truth
    assert grid.height == 4 * (64 + 2) + 2 and grid.width > photos * (64 + 2)
    first = {j["name"]: j for j in reversed(report["jobs"])}
    pictures = [torch.load(Path(first[name]["output_dir"]) / TEST_IMAGES_FILE, weights_only=True)
                for name in ("pix2pix", "l1_only")]
    assert torch.equal(pictures[0]["truth"], pictures[1]["truth"])
    assert not torch.equal(pictures[0]["colorized"], pictures[1]["colorized"])  # the GAN step changed G


RECIPES = sorted(p.stem for p in (config_dir() / "recipe").glob("*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_composes_and_names_its_row(compose_cfg, recipe: str) -> None:
    cfg = compose_cfg(f"+recipe={recipe}")
    assert cfg.recipe_name == recipe


def test_l1_only_recipe_never_switches_the_gan_on(compose_cfg) -> None:
    cfg = compose_cfg("+recipe=l1_only", tiny=False)
    assert cfg.model.l1_warmup_epochs > 10 * cfg.trainer.max_epochs


def test_compare_preset_trains_each_recipe_for_the_same_time_and_tests_it(compose_cfg) -> None:
    from hydra import compose  # the compose_cfg fixture has initialised Hydra on colorgan's configs
    from hydra.types import RunMode

    cfg = compose("train", overrides=["+experiment=demo", "+compare=recipes"], return_hydra_config=True)
    assert cfg.hydra.mode == RunMode.MULTIRUN and cfg.test is True
    assert cfg.trainer.max_time and cfg.trainer.max_epochs == -1
    swept = str(cfg.hydra.sweeper.params["+recipe"]).split(",")
    assert len(swept) >= 2 and set(swept) <= set(RECIPES)


def _photo_job(sweep: Path, num: int, recipe: str, seed: int, gain: float, gray: dict, truth: torch.Tensor,
               root: Path | None = None) -> dict:
    """A tested job of ``recipe`` and ``seed`` whose per-photo PSNR is gray's plus ``gain`` (plus a little noise),
    trained on the data set at ``root``."""
    result = _job(sweep, num, [f"+recipe={recipe}", f"seed={seed}", "data.root=/photos"], recipe, truth, 1.0)
    folder = Path(result["output_dir"])
    config = OmegaConf.load(folder / "config.yaml")
    config.seed = seed
    if root is not None:
        config.data.root = str(root)
    OmegaConf.save(config, folder / "config.yaml")
    rng = torch.Generator().manual_seed(1000 * num + seed)
    photos = []
    for name, g in gray.items():
        noise = float(torch.randn((), generator=rng)) * 0.01
        scores = {"psnr": g["psnr"] + gain + noise, "l1_ab": g["l1_ab"] - gain / 100 + noise / 100,
                  "swd_ab": g["swd_ab"], "colorfulness": 20.0 + noise, "colorfulness_true": g["colorfulness_true"]}
        photos.append({"photo": name, "scores": scores, "gray": g})
    (folder / TEST_PHOTOS_FILE).write_text(json.dumps({"photos": photos}))
    return result


def _crops_of_12_photos() -> dict[str, dict[str, float]]:
    """Gray's scores of 48 test photos: 4 crops of each of 12 source photos, alike (a photo's scene and light)."""
    g = torch.Generator().manual_seed(0)
    photo = [15.0 + 4 * float(torch.rand((), generator=g)) for _ in range(12)]
    return {f"test/photo{k}_{i}.jpg": {"psnr": photo[k] + 0.2 * float(torch.rand((), generator=g)), "l1_ab": 0.15,
                                       "swd_ab": 0.2, "colorfulness": 0.0, "colorfulness_true": 40.0}
            for k in range(12) for i in range(4)}


def _two_recipes(sweep: Path, gray: dict, root: Path | None) -> list[dict]:
    truth = _photos(0)
    results: list[dict] = []
    for recipe, gain in (("pix2pix", 0.0), ("better", 0.5)):
        for seed in (0, 1, 2):
            results.append(_photo_job(sweep, len(results), recipe, seed, gain, gray, truth, root))
    return results


def test_seeds_make_one_recipe_with_intervals_and_real_differences_marked(tmp_path: Path, capsys) -> None:
    gray = _crops_of_12_photos()
    data = tmp_path / "data"  # the data set says which crop came from which photo
    data.mkdir()
    write_sources_file(data / SOURCES_FILE, {name: name.split("/")[1].split("_")[0] for name in gray})
    sweep = tmp_path / "sweep"
    report = write_quality_report(sweep, _two_recipes(sweep, gray, data))
    tmp_path = sweep

    assert [j["name"] for j in report["jobs"]] == ["pix2pix"] * 3 + ["better"] * 3  # seeds are not names
    assert [j["seed"] for j in report["jobs"]] == [0, 1, 2] * 2
    iv = report["intervals"]
    assert iv["photos"] == 48 and iv["source_photos"] == 12 and iv["reference"] == "pix2pix"
    assert iv["per_recipe"]["better"]["seeds"] == ["0", "1", "2"]
    vs_gray = iv["differences"]["better"]["gray"]["psnr"]
    assert vs_gray["mean"] == pytest.approx(0.5, abs=0.01) and vs_gray["excludes_zero"]
    assert iv["differences"]["better"]["pix2pix"]["psnr"]["excludes_zero"]
    assert not iv["differences"]["pix2pix"]["gray"]["psnr"]["excludes_zero"]  # pix2pix = gray + noise
    assert len(iv["scores"]["better"]["2"]) == 48 and len(iv["gray_scores"]) == 48

    table = (tmp_path / QUALITY_TABLE_FILE).read_text()
    assert "the mean of 12 source photos' means (48 test photos" in table
    assert f"crops grouped into source photos as {data / SOURCES_FILE} says" in table
    assert iv["sources"][:2] == ["photo0", "photo1"] and iv["source_of"]["test/photo3_2.jpg"] == "photo3"
    assert "| better | gray | +0.50 [" in table and "**better**" in table
    [real] = [line for line in table.splitlines() if line.startswith("Real differences: ")]
    assert "better against gray: PSNR better, L1(ab) better" in real and "better against pix2pix: PSNR better" in real
    assert "pix2pix against gray: PSNR" not in real
    assert "The truth's colourfulness is 40.0" in table

    # anyone can recompute the tables from quality.json
    proc = subprocess.run([sys.executable, "-m", "colorgan.evaluation.quality_report",
                           str(tmp_path / QUALITY_JSON_FILE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == table.split("\n\n", 2)[2].split("\n\n![")[0].strip()

    # and compare any two recipes with each other, not only with gray and pix2pix
    from colorgan.evaluation.quality_report import main as report_main

    report_main([str(tmp_path / QUALITY_JSON_FILE), "--compare", "better,pix2pix", "--compare", "pix2pix,better"])
    printed = capsys.readouterr().out
    assert "| pix2pix | better | -0.50 [" in printed and "pix2pix against better: PSNR worse" in printed
    with pytest.raises(SystemExit, match="cannot compare nope with better: the recipes are pix2pix, better"):
        report_main([str(tmp_path / QUALITY_JSON_FILE), "--compare", "nope,better"])


def test_without_the_data_sets_word_each_photo_is_its_own_source_photo(tmp_path: Path, capsys) -> None:
    """Crop-like names (``photo3_2.jpg``) and camera names alike: no sources.csv, no pattern, no grouping."""
    gray = _crops_of_12_photos()
    report = write_quality_report(tmp_path, _two_recipes(tmp_path, gray, tmp_path / "no-sources-file-here"))
    iv = report["intervals"]
    assert iv["photos"] == 48 and iv["source_photos"] == 48
    table = (tmp_path / QUALITY_TABLE_FILE).read_text()
    assert "the mean over 48 test photos, each its own source photo, and over the seeds" in table
    assert "each photo counted as its own source photo" in table


def test_the_source_pattern_option_regroups_the_saved_scores(tmp_path: Path, capsys) -> None:
    from colorgan.evaluation.quality_report import main as report_main

    gray = _crops_of_12_photos()
    report = write_quality_report(tmp_path, _two_recipes(tmp_path, gray, None))
    assert report["intervals"]["source_photos"] == 48
    saved = tmp_path / QUALITY_JSON_FILE
    capsys.readouterr()
    report_main([str(saved)])
    alone = capsys.readouterr().out
    assert "the mean over 48 test photos, each its own source photo" in alone
    report_main([str(saved), "--source-pattern", r"test/(?P<source>photo\d+)_"])
    grouped = capsys.readouterr().out
    assert "the mean of 12 source photos' means (48 test photos" in grouped
    assert r"by the pattern `test/(?P<source>photo\d+)_` (--source-pattern)" in grouped

    def psnr_width(text: str) -> float:
        row = next(line for line in text.splitlines() if line.startswith("| better | 3 |"))
        low, high = row.split("|")[3].split("[")[1].split("]")[0].split(", ")
        return float(high) - float(low)

    # 4 crops of a photo score alike here: counted as 48 photos they pretend to 4 times the evidence
    assert psnr_width(grouped) > 1.5 * psnr_width(alone)
    with pytest.raises(SystemExit) as err:
        report_main([str(saved), "--source-pattern", "("])
    assert err.value.code == 2 and "--source-pattern '(' is not a regular expression" in capsys.readouterr().err


def test_a_quality_json_written_with_the_old_name_guess_is_regrouped_only_when_asked(tmp_path: Path, capsys) -> None:
    from colorgan.evaluation.quality_report import main as report_main

    report = write_quality_report(tmp_path, _two_recipes(tmp_path, _crops_of_12_photos(), None))
    old = dict(report["intervals"], source_pattern=r"^(?P<source>.*?)(?:_\d+)?(?:\.[^./]+)?$")
    for key in ("source_of", "grouping"):
        del old[key]
    (tmp_path / "old.json").write_text(json.dumps({**report, "intervals": old}))
    report_main([str(tmp_path / "old.json")])
    printed = capsys.readouterr()
    assert "48 test photos, each its own source photo" in printed.out
    assert "give --source-pattern" in printed.err
