"""The page's vividness slider: a classification model's temperature for one job, its own back afterwards; a
regression model shows the slider disabled and never gets a temperature."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.app import cli
from colorgan.app.handlers import Models, colorize_uploads
from colorgan.app.page import build_page
from colorgan.inference.colorizer import Colorizer
from colorgan.metrics import colorfulness

from helpers.app import peaked_classification_model, photo

OWN = 0.38  # the temperature the tiny classification model was trained with (the paper's default)


@pytest.fixture(scope="module")
def peaked(tiny_classification_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny classification model with logits that peak at one saturated colour (see the helper)."""
    return peaked_classification_model(tiny_classification_ckpt, tmp_path_factory.mktemp("peaked") / "vivid.pt")


def _colourfulness(path: Path | str) -> float:
    rgb = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0)
    return float(colorfulness(rgb.permute(2, 0, 1)[None]))


def _slider(page):
    import gradio as gr

    (slider,) = [b for b in page.blocks.values() if isinstance(b, gr.Slider) and b.elem_id == "vividness"]
    return slider


def _dependency(page, name: str):
    (dep,) = [f for f in page.fns.values() if getattr(f.fn, "__name__", "") == name]
    return dep


# ------------------------------------------------------------------ the handlers
def test_a_lower_temperature_colours_more_and_the_models_own_comes_back(peaked: Path, drop, tmp_path: Path) -> None:
    models = Models([peaked], device="cpu")
    (label,) = models.labels
    file = drop("gray.png", photo(40, 56, "L"))

    def job(temperature: float | None) -> float:
        batch = colorize_uploads([file], models, tmp_path / "results", temperature=temperature)
        assert models.temperature(label) == OWN and models.get(label)[1].temperature == OWN  # its own is back
        return _colourfulness(batch.rows[0].output)

    vivid, own, safe = job(0.1), job(None), job(1.0)
    assert vivid > safe + 10, (vivid, own, safe)  # the most likely colour against the mean of all bins
    assert vivid >= own > safe  # no temperature: the model's own, in between


def test_two_jobs_at_two_temperatures_never_see_each_others(peaked: Path, drop, monkeypatch) -> None:
    models = Models([peaked], device="cpu")
    (label,) = models.labels
    colorizer = models.get(label)[1]
    file = drop("gray.png", photo(24, 24, "L"))
    seen: dict[float | None, set[float | None]] = {}
    real = Colorizer.colorize_batch

    def spy(self, *args, **kwargs):
        seen.setdefault(threading.current_thread().temperature, set()).add(self.temperature)  # type: ignore[attr-defined]
        time.sleep(0.01)  # a job long enough for the others to try to change its temperature meanwhile
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "colorize_batch", spy)

    def run(temperature: float | None) -> None:
        threading.current_thread().temperature = temperature  # type: ignore[attr-defined]
        for _ in range(4):
            models.colorize(label, file, temperature=temperature)

    threads = [threading.Thread(target=run, args=(t,)) for t in (0.1, 1.0, None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {0.1: {0.1}, 1.0: {1.0}, None: {OWN}}
    assert colorizer.temperature == OWN

    def broken(self, *args, **kwargs):
        raise RuntimeError("the generator failed")

    monkeypatch.setattr(Colorizer, "colorize_batch", broken)
    with pytest.raises(RuntimeError):
        models.colorize(label, file, temperature=0.05)
    assert colorizer.temperature == OWN  # a failed job gives it back too


def test_a_regression_model_takes_no_temperature(tiny_ckpt: Path, peaked: Path, drop, tmp_path: Path) -> None:
    models = Models([tiny_ckpt, peaked], device="cpu")
    regression, classification = models.labels
    assert models.temperature(regression) is None and models.temperature(classification) == OWN
    file = drop("gray.png", photo(24, 24, "L"))
    with pytest.raises(ValueError, match=r"last\.ckpt: a regression model \(model\.head=regression\) predicts ab "):
        colorize_uploads([file], models, tmp_path / "results", model=regression, temperature=0.2)
    assert not (tmp_path / "results").exists()  # refused before a job started
    with pytest.raises(ValueError, match="predicts ab directly"):
        models.colorize(regression, file, temperature=0.2)

    # a start temperature (--temperature) goes to the classification models; with none of them it is refused
    started = Models([tiny_ckpt, peaked], device="cpu", temperature=0.2)
    assert started.temperature(classification) == 0.2 and started.temperature(regression) is None
    with pytest.raises(ValueError, match=rf"{tiny_ckpt}: a regression model .* takes no temperature"):
        Models([tiny_ckpt], device="cpu", temperature=0.2)


def test_the_page_command_refuses_a_temperature_for_regression_models_only(
    tiny_ckpt: Path, monkeypatch, tmp_path: Path, capsys
) -> None:
    for key in cli.served_folder_settings(tmp_path):  # the environment it sets for Gradio is undone afterwards
        monkeypatch.setenv(key, "")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def serves(*args, **kwargs):
        raise AssertionError("a temperature for a regression model was not refused: the page would be served")

    monkeypatch.setattr("colorgan.app.page.build_page", serves)
    assert cli.main(["--ckpt", str(tiny_ckpt), "--temperature", "0.2"]) == 2
    err = capsys.readouterr().err
    assert "colorgan-app: error:" in err and str(tiny_ckpt) in err and "takes no temperature" in err
    with pytest.raises(SystemExit):
        cli.main(["--ckpt", str(tiny_ckpt), "--temperature", "1.5"])
    assert "--temperature must be between 0" in capsys.readouterr().err


# ------------------------------------------------------------------ the page
def test_the_slider_follows_the_chosen_model(tiny_ckpt: Path, peaked: Path, tmp_path: Path) -> None:
    models = Models([peaked, tiny_ckpt], device="cpu")
    classification, regression = models.labels
    page = build_page(models, tmp_path / "results")
    slider = _slider(page)
    assert slider.interactive and slider.value == OWN and (slider.minimum, slider.maximum) == (0, 1)
    assert "temperature" in slider.info and "0 = the most likely colour" in slider.info and "0.38" in slider.info

    follow = _dependency(page, "follow_model")
    (menu,) = follow.inputs
    assert menu.elem_id == "model" and [b._id for b in follow.outputs] == [slider._id]
    assert [t[1] for t in follow.targets] == ["change"]
    off = follow.fn(regression)
    assert off.interactive is False and "predicts ab directly" in off.info
    on = follow.fn(classification)
    assert on.interactive is True and on.value == OWN and "temperature" in on.info

    # a regression model first: the slider starts disabled; --temperature moves where it starts for the others
    first = _slider(build_page(Models([tiny_ckpt, peaked], device="cpu"), tmp_path / "results"))
    assert first.interactive is False and "predicts ab directly" in first.info
    started = build_page(Models([peaked, tiny_ckpt], device="cpu", temperature=0.2), tmp_path / "results")
    assert _slider(started).value == 0.2 and "0.2" in _slider(started).info


def test_the_colorize_button_colorizes_at_the_sliders_temperature(
    tiny_ckpt: Path, peaked: Path, drop, tmp_path: Path, monkeypatch
) -> None:
    models = Models([peaked, tiny_ckpt], device="cpu")
    classification, regression = models.labels
    page = build_page(models, tmp_path / "results")
    run = _dependency(page, "run")
    assert _slider(page)._id in [b._id for b in run.inputs]
    file = drop("gray.png", photo(40, 56, "L"))

    def press(model: str, vivid: float) -> float:
        rows, summary, _ = run.fn([str(file)], model, False, vivid)
        assert rows[0]["error"] is None, summary
        return _colourfulness(rows[0]["output"])

    assert press(classification, 0.1) > press(classification, 1.0) + 10
    assert models.temperature(classification) == OWN

    given = []
    real = Models.colorize

    def spy(self, label, path, points=None, temperature=None):
        given.append(temperature)
        return real(self, label, path, points, temperature)

    monkeypatch.setattr(Models, "colorize", spy)
    press(regression, 0.1)  # a disabled slider still sends its value: the regression model never gets it
    assert given == [None]


def test_the_points_editor_colorizes_at_the_sliders_temperature(
    tiny_hinted_ckpt: Path, peaked: Path, drop, tmp_path: Path, monkeypatch
) -> None:
    from colorgan.app import points as pts

    models = Models([peaked, tiny_hinted_ckpt], device="cpu")
    classification, hinted = models.labels
    page = build_page(models, tmp_path / "results")
    slider = _slider(page)
    given = []
    real = Models.colorize

    def spy(self, label, path, points=None, temperature=None):
        given.append((label, temperature))
        return real(self, label, path, points, temperature)

    monkeypatch.setattr(Models, "colorize", spy)
    upload = drop("grandma.png", photo(40, 60, "L"))
    open_photo, colorize = _dependency(page, "open_photo"), _dependency(page, "colorize")
    assert slider._id in [b._id for b in open_photo.inputs] and slider._id in [b._id for b in colorize.inputs]
    for model, temperature in [(classification, 0.1), (hinted, None)]:  # a regression model never gets one
        given.clear()
        state, picture, *_ = open_photo.fn(None, pts.VIEW_POINTS, [str(upload)], 0, model, 0.1)
        assert picture["value"] is not None and given == [(model, temperature)]
        given.clear()
        state, picture, *_ = colorize.fn(state, pts.VIEW_POINTS, model, 0.1)
        assert picture["value"] is not None and given == [(model, temperature)]
