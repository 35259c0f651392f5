"""The temperature curve: each classification recipe at several temperatures, equal to a direct evaluation at that
temperature, next to gray and its regression twin; a sweep without a classification head is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from colorgan.evaluate import evaluate
from colorgan.evaluation.temperature_curve import main, temperature_curve

from helpers.runs import tiny_job


@pytest.fixture(scope="module")
def sweep(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classification recipe and its regression twin, one seed each, trained a few batches at a high rate."""
    sweep = tmp_path_factory.mktemp("sweep")
    train = [f"data.root={photo_root}", "trainer.limit_train_batches=4", "model.optimizer_g.lr=2e-3"]
    tiny_job(sweep, 0, "tiny", *train)
    tiny_job(sweep, 1, "tiny_classes", *train, "model.head=classification")
    return sweep


def test_each_temperature_is_what_evaluate_says_at_it(sweep: Path, photo_root: Path, compose_eval, capsys) -> None:
    main([str(sweep), "--temperatures", "0.1,1.0", "--accelerator", "cpu"])
    report = json.loads((sweep / "temperature.json").read_text())
    assert report["temperatures"] == [0.1, 1.0]
    assert list(report["recipes"]) == ["tiny_classes"] and report["recipes"]["tiny_classes"]["twin"] == "tiny"
    [ckpt] = report["checkpoints"]["tiny_classes"]
    assert Path(ckpt).name.startswith("best-")  # the quality table's checkpoint
    per_recipe = report["intervals"]["per_recipe"]
    colourfulness = {}
    for t in (0.1, 1.0):
        direct = evaluate(compose_eval(f"ckpt_path={ckpt}", f"data.root={photo_root}", "fid=false", f"temperature={t}"))
        for metric in ("l1_ab", "swd_ab", "colorfulness"):  # means of per-photo scores (PSNR is pooled in evaluate)
            got = per_recipe[f"tiny_classes T={t:g}"][metric]["mean"]
            assert got == pytest.approx(direct["colorgan"][metric], rel=1e-4, abs=1e-5), (t, metric)
        colourfulness[t] = direct["colorgan"]["colorfulness"]
        assert report["recipes"]["tiny_classes"]["colorfulness"][[0.1, 1.0].index(t)]["mean"] == pytest.approx(
            per_recipe[f"tiny_classes T={t:g}"]["colorfulness"]["mean"]
        )
    assert colourfulness[0.1] != pytest.approx(colourfulness[1.0], rel=1e-3)  # the temperature did reach the head
    # the twin's row is the quality table's own test of it, and every temperature is compared with it and gray
    twin = json.loads((sweep / "0" / "test_photos.json").read_text())["photos"]
    assert per_recipe["tiny"]["l1_ab"]["mean"] == pytest.approx(sum(p["scores"]["l1_ab"] for p in twin) / len(twin))
    assert set(report["intervals"]["differences"]["tiny_classes T=0.1"]) == {"gray", "tiny"}
    text = (sweep / "temperature.md").read_text()
    assert "| tiny_classes T=0.1 | tiny |" in text and "| tiny_classes T=1 | gray |" in text
    assert "| tiny_classes T=0.1 |" in capsys.readouterr().out
    figure = Image.open(sweep / "temperature.png")
    assert figure.size[0] > 700 and figure.size[1] > 500


def test_a_sweep_without_a_classification_head_is_refused(sweep: Path, tmp_path: Path) -> None:
    regression_only = tmp_path / "sweep"
    (regression_only / "0").parent.mkdir()
    (regression_only / "0").symlink_to(sweep / "0")
    with pytest.raises(
        SystemExit,
        match=r"none of its 1 jobs \(tiny\) has a classification head.*model.head="
        "classification",
    ):
        temperature_curve(regression_only)
    assert not (regression_only / "temperature.json").exists()
