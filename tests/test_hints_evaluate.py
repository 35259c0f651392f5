"""colorgan.evaluate with a hinted model: quality against the number of points, as JSON and a plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from colorgan.data import ColorizationDataModule
from colorgan.evaluate import evaluate
from colorgan.evaluation.hint_sweep import summarise, sweep
from colorgan.evaluation.intervals import SourcePhotos
from colorgan.inference.colorizer import Colorizer


class HintEcho(nn.Module):
    """Paints exactly its hints (ab where the mask is 1, gray elsewhere): its error falls only as the points reveal
    more of the truth."""

    divisor = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1:3] * x[:, 3:4]


@pytest.fixture
def compose_eval(tmp_path: Path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from colorgan.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield lambda *overrides: compose(
            "evaluate", overrides=[f"paths.output_dir={tmp_path / 'eval'}", "data.num_workers=0", "device=cpu",
                                   "fid=false", *overrides]
        )
    GlobalHydra.instance().clear()


def _data(root: Path, batch_size: int) -> ColorizationDataModule:
    dm = ColorizationDataModule(root=str(root), image_size=64, batch_size=batch_size, num_workers=0)
    dm.setup("test")
    return dm


def test_points_come_from_the_truth_and_are_the_same_for_every_batch_size(photo_root):
    oracle = Colorizer(HintEcho(), 64, device="cpu", in_channels=4)
    a = sweep(oracle, _data(photo_root, 4), torch.device("cpu"), points=[0, 5, 100], seed=3)
    b = sweep(oracle, _data(photo_root, 3), torch.device("cpu"), points=[0, 5, 100], seed=3)
    assert a["names"] == b["names"] and a["hinted"] == b["hinted"]
    # no points: exactly gray; more points: closer to the truth
    assert a["hinted"][0]["l1_ab"] == pytest.approx(a["gray"]["l1_ab"], abs=1e-6)
    err = [sum(a["hinted"][n]["l1_ab"]) for n in (0, 5, 100)]
    assert err[0] > err[1] > err[2]
    c = sweep(oracle, _data(photo_root, 4), torch.device("cpu"), points=[5], seed=4)
    assert c["hinted"][5] != a["hinted"][5]
    s = summarise(a)
    assert s["points"] == [0, 5, 100] and s["hinted"]["l1_ab"][2]["low"] <= s["hinted"]["l1_ab"][2]["mean"]


def test_evaluate_draws_the_curve_of_a_hinted_model_against_the_automatic_one(
    compose_eval, tiny_hinted_ckpt, tiny_ckpt, photo_root, tmp_path, capsys
):
    result = evaluate(compose_eval(f"ckpt_path={tiny_hinted_ckpt}", f"data.root={photo_root}",
                                   "hints.points=[0,2,10]", f"hints.baseline={tiny_ckpt}"))
    curve = result["hints_curve"]
    assert curve["points"] == [0, 2, 10] and curve["photos"] == 8 and curve["automatic"] is not None
    assert set(curve["zero_points_cost"]) == {"psnr", "l1_ab"}
    saved = json.loads((tmp_path / "eval" / "hints_curve.json").read_text())
    assert saved["hinted"]["psnr"] == curve["hinted"]["psnr"]
    with Image.open(tmp_path / "eval" / "hints_curve.png") as png:
        assert png.size[0] > 600 and png.mode == "RGB"
    out = capsys.readouterr().out
    assert "Against the number of points revealed" in out and "automatic" in out
    # an automatic model gets no curve
    assert "hints_curve" not in evaluate(compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}"))


def test_each_number_of_points_is_compared_with_gray_and_the_automatic_model_photo_by_photo() -> None:
    import numpy as np

    from colorgan.evaluation.hint_sweep import format_differences

    rng = np.random.default_rng(0)
    # 12 source photos, 4 crops each; photos differ a lot from one another, which paired differences see through
    names = [f"photo{s}_{c}.jpg" for s in range(12) for c in range(4)]
    base = np.repeat(rng.uniform(0.05, 0.3, 12), 4) + rng.normal(0, 0.002, 48)
    gray = base.tolist()
    automatic = (base + rng.normal(0, 0.002, 48)).tolist()  # no better than gray
    hinted = {0: (base + rng.normal(0, 0.002, 48)).tolist(), 10: (base - 0.01 + rng.normal(0, 0.002, 48)).tolist()}
    raw = {
        "names": names,
        "hinted": {n: {"psnr": [-v for v in vals], "l1_ab": vals} for n, vals in hinted.items()},
        "automatic": {"psnr": [-v for v in automatic], "l1_ab": automatic},
        "gray": {"psnr": [-v for v in gray], "l1_ab": gray},
    }
    s = summarise(raw, sources=SourcePhotos.from_pattern(r"(?P<source>photo\d+)_"))
    assert s["source_photos"] == 12
    zero, ten = s["versus_gray"]["l1_ab"]
    assert not zero["excludes_zero"] and zero["low"] < 0 < zero["high"]
    # 0.01 better on every photo: real, although the photos' own errors spread from 0.05 to 0.3
    assert ten["excludes_zero"] and ten["high"] < 0 and ten["mean"] == pytest.approx(-0.01, abs=0.002)
    assert s["versus_automatic"]["l1_ab"][1]["excludes_zero"]
    assert s["zero_points_cost"]["l1_ab"] == s["versus_automatic"]["l1_ab"][0]
    # the unpaired intervals of 10 points and of gray overlap: only the paired difference shows the gain
    assert s["hinted"]["l1_ab"][1]["high"] > s["gray"]["l1_ab"]["low"]
    assert s["per_photo"]["names"] == names and s["per_photo"]["hinted"]["10"]["l1_ab"] == hinted[10]
    table = format_differences(s).splitlines()
    assert "l1_ab minus gray" in table[0] and "l1_ab minus automatic" in table[0]
    assert table[2].split()[0] == "10" and table[2].count("*") == 4 and table[1].count("*") == 0
