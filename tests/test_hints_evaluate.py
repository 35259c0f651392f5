"""colorgan.evaluate with a hinted model: quality against the number of points, as JSON and a plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


class Constant(nn.Module):
    """An automatic generator that paints every pixel one strong colour whatever it is shown: its error differs from
    gray's on every photo, so a curve that scored gray in its place would show."""

    divisor = 32

    def __init__(self, ab: tuple[float, float] = (0.4, -0.3)) -> None:
        super().__init__()
        self.register_buffer("ab", torch.tensor(ab).view(1, 2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ab.expand(x.shape[0], 2, *x.shape[2:])


@pytest.fixture
def compose_eval(compose_eval):
    """conftest's evaluate config, without FID."""
    return lambda *overrides: compose_eval("fid=false", *overrides)


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


def test_the_automatic_model_is_scored_with_its_own_colours_not_gray(photo_root):
    oracle = Colorizer(HintEcho(), 64, device="cpu", in_channels=4)
    automatic = Colorizer(Constant(), 64, device="cpu")
    raw = sweep(oracle, _data(photo_root, 4), torch.device("cpu"), points=[0, 5], seed=3, baseline=automatic)
    # the same model scored through the hinted path (it ignores the hint map): the scores the baseline must get
    alone = sweep(Colorizer(Constant(), 64, device="cpu", in_channels=4), _data(photo_root, 4), torch.device("cpu"),
                  points=[0], seed=3)
    assert alone["names"] == raw["names"]
    for k in ("l1_ab", "psnr"):
        assert raw["automatic"][k] == pytest.approx(alone["hinted"][0][k], abs=1e-5)
        gap = [abs(a - g) for a, g in zip(raw["automatic"][k], raw["gray"][k])]
        assert min(gap) > 0.01, f"{k}: the automatic model scores as gray on some photo"
    # and the summary's 'minus automatic' is taken against those scores, not against gray's
    s = summarise(raw)
    for k in ("l1_ab", "psnr"):
        assert s["automatic"][k]["mean"] == pytest.approx(float(np.mean(alone["hinted"][0][k])), rel=1e-4)
        for i, n in enumerate([0, 5]):
            own = np.asarray(raw["hinted"][n][k]) - np.asarray(alone["hinted"][0][k])
            versus_gray = np.asarray(raw["hinted"][n][k]) - np.asarray(raw["gray"][k])
            assert s["versus_automatic"][k][i]["mean"] == pytest.approx(float(own.mean()), abs=1e-5)
            assert abs(s["versus_automatic"][k][i]["mean"] - float(versus_gray.mean())) > 0.01


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
    automatic = (base + 0.02 + rng.normal(0, 0.002, 48)).tolist()  # 0.02 worse than gray: told apart from it
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
    # against the automatic model's own scores: 0.02 and 0.03 better, not gray's 0 and 0.01
    zero, ten = s["versus_automatic"]["l1_ab"]
    assert zero["mean"] == pytest.approx(-0.02, abs=0.002) and zero["excludes_zero"]
    assert ten["mean"] == pytest.approx(-0.03, abs=0.002) and ten["excludes_zero"]
    assert s["automatic"]["l1_ab"]["mean"] == pytest.approx(s["gray"]["l1_ab"]["mean"] + 0.02, abs=0.002)
    assert s["zero_points_cost"]["l1_ab"] == s["versus_automatic"]["l1_ab"][0]
    # the unpaired intervals of 10 points and of gray overlap: only the paired difference shows the gain
    assert s["hinted"]["l1_ab"][1]["high"] > s["gray"]["l1_ab"]["low"]
    assert s["per_photo"]["names"] == names and s["per_photo"]["hinted"]["10"]["l1_ab"] == hinted[10]
    table = format_differences(s).splitlines()
    assert "l1_ab minus gray" in table[0] and "l1_ab minus automatic" in table[0]
    assert table[2].split()[0] == "10" and table[2].count("*") == 4 and table[1].count("*") == 2
