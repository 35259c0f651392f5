"""The quality table at equal steps: the common batch count, and numbers equal to a direct test of those checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from colorgan.evaluate import evaluate
from colorgan.evaluation.equal_steps import common_batch_count, main
from colorgan.evaluation.sweep_summary import RESULT_FILE
from colorgan.training.results import TEST_PHOTOS_FILE

from helpers.runs import tiny_job


@pytest.fixture(scope="module")
def sweep(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two recipes that ran 4 and 3 batches, saving every 2: the only count both reached is 2."""
    sweep = tmp_path_factory.mktemp("sweep")
    every = "callbacks.batch_checkpoints.every_n_batches=2"
    tiny_job(sweep, 0, "fast", f"data.root={photo_root}", every, "trainer.limit_train_batches=4")
    tiny_job(
        sweep,
        1,
        "slow",
        f"data.root={photo_root}",
        every,
        "trainer.limit_train_batches=3",
        "model.l1_warmup_epochs=1000000",
    )
    return sweep


def test_tests_every_job_at_the_common_count_as_a_direct_test_would(
    sweep: Path, photo_root: Path, compose_eval, capsys
) -> None:
    assert sorted(p.name for p in (sweep / "0" / "checkpoints").glob("batches-*")) == [
        "batches-000002.ckpt",
        "batches-000004.ckpt",
    ]
    main([str(sweep), "--accelerator", "cpu"])
    report = json.loads((sweep / "equal_steps.json").read_text())
    assert report["batches"] == 2
    text = (sweep / "equal_steps.md").read_text()
    assert text.startswith("# Colour quality at equal steps (2 training batches)")
    assert "batches-000002.ckpt" in text and "after 2 training batches" in text
    assert "| fast |" in text and "| slow |" in text and "| gray baseline |" in text  # the interval tables
    assert (sweep / "equal_steps.png").is_file()
    assert "equal_steps.md" in capsys.readouterr().out
    # each number is what colorgan.evaluate says of that checkpoint, not what the job's best checkpoint scored
    for job in report["jobs"]:
        ckpt = Path(job["output_dir"]) / "checkpoints" / "batches-000002.ckpt"
        direct = evaluate(compose_eval(f"ckpt_path={ckpt}", f"data.root={photo_root}", "fid=false"))
        for metric in ("l1_ab", "swd_ab", "psnr", "colorfulness"):
            assert job["metrics"][metric] == pytest.approx(direct["colorgan"][metric], rel=1e-4, abs=1e-5), metric
            if metric != "psnr":  # the table's PSNR is a mean of per-photo PSNRs, evaluate's is of the pooled error
                per_recipe = report["intervals"]["per_recipe"][job["name"]][metric]["mean"]
                assert per_recipe == pytest.approx(direct["colorgan"][metric], rel=1e-4, abs=1e-5), metric
        best = json.loads((Path(job["output_dir"]) / TEST_PHOTOS_FILE).read_text())["photos"]
        again = json.loads((Path(job["output_dir"]) / "equal_steps" / "batches-000002" / TEST_PHOTOS_FILE).read_text())[
            "photos"
        ]
        assert [p["gray"] for p in again] == [p["gray"] for p in best]  # the same photos, the same gray baseline
    assert report["intervals"]["differences"]["slow"].keys() == {"gray"}


def test_a_count_not_every_job_reached_is_refused(sweep: Path) -> None:
    results = [OmegaConf.to_container(OmegaConf.load(p)) for p in sorted(sweep.glob(f"*/{RESULT_FILE}"))]
    assert common_batch_count(results) == 2
    with pytest.raises(
        SystemExit,
        match=r"--batches 4: not every job saved batches-000004.ckpt \(job 0 up to 4, "
        r"job 1 up to 2",
    ):
        common_batch_count(results, 4)


def test_a_sweep_without_batch_checkpoints_is_refused(tmp_path: Path) -> None:
    results = [{"job": 0, "output_dir": str(tmp_path / "0")}]
    with pytest.raises(SystemExit, match="callbacks.batch_checkpoints.every_n_batches"):
        common_batch_count(results)
