"""Training with the classification head (model.head=classification): the training photos' colour counts against
a count by hand, a run that trains, resumes and colorizes, and the temperature from colorize to the exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoints.reading import load_generator
from colorgan.color import AB_SCALE, rgb_to_model_lab
from colorgan.metrics import colorfulness
from colorgan.nn.classification import ClassificationHead, ab_bins, rebalancing_weights
from colorgan.training import classes

from helpers.runs import run_module, train_tiny
from helpers.tiny import tiny_data

ASSET_PHOTO = "chelsea_color.jpg"


def _count_by_hand(images: list[torch.Tensor], bins: np.ndarray) -> np.ndarray:
    counts = np.zeros(len(bins), dtype=np.int64)
    for image in images:
        _, ab = rgb_to_model_lab(image[None])
        ab = ab[0].numpy().astype(np.float64) * AB_SCALE  # (2, S, S) in CIE units
        s = ab.shape[-1] // 4
        pooled = ab.reshape(2, s, 4, s, 4).mean(axis=(2, 4))
        for a, b in pooled.reshape(2, -1).T:
            counts[int(np.argmin((bins[:, 0] - a) ** 2 + (bins[:, 1] - b) ** 2))] += 1
    return counts


def test_colour_counts_match_a_count_by_hand_and_are_counted_once(photo_root, tmp_path, monkeypatch):
    dm = tiny_data(photo_root, cache_dir=str(tmp_path / "cache"))
    dm.setup("fit")
    bins = ab_bins()
    images = [dm.train_set.load(i) for i in range(len(dm.train_set))]
    by_hand = _count_by_hand(images, bins.double().numpy())
    counts = classes.training_counts(dm, bins, torch.device("cpu"))
    assert counts.tolist() == by_hand.tolist()
    assert int(counts.sum()) == 16 * 16 * 16, "16 photos of 64 px, 16 x 16 pixels each at the logits' size"
    [kept] = (tmp_path / "cache").glob("ab-bins-*.json")
    assert json.loads(kept.read_text())["counts"] == by_hand.tolist()

    def recount(*args, **kwargs):
        raise AssertionError("counted again")

    monkeypatch.setattr(classes, "count_training_colours", recount)
    assert classes.training_counts(dm, bins, torch.device("cpu")).tolist() == by_hand.tolist()
    # other photos (one more training photo) are another data set: counted anew
    extra = photo_root.parent / "photos_plus"
    shutil.copytree(photo_root, extra)
    Image.new("RGB", (80, 64), (200, 30, 30)).save(extra / "train" / "tennis" / "red.png")
    other = tiny_data(extra, cache_dir=str(tmp_path / "cache"))
    other.setup("fit")
    with pytest.raises(AssertionError, match="counted again"):
        classes.training_counts(other, bins, torch.device("cpu"))


# the demo photos (real ones), a few epochs at a high rate: enough for the distributions to leave the uniform one
# that an untrained head predicts (where every temperature gives the same colour)
CLASSES_RUN = [
    "model.head=classification",
    "model.lambda_l1=0",
    "model.lambda_gan=0.2",
    "model.optimizer_g.lr=2e-3",
    "trainer.limit_train_batches=6",
]


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory):
    from colorgan.config import asset_path

    out = tmp_path_factory.mktemp("classes_run")
    ckpt = train_tiny(
        out, f"data.root={asset_path('demo')}", *CLASSES_RUN, "trainer.max_epochs=3", f"data.cache_dir={out / 'cache'}"
    )
    return out, ckpt


def test_a_classification_run_trains_with_its_photos_class_weights(classification_run):
    out, ckpt = classification_run
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["hyper_parameters"]["head"] == "classification"
    [kept] = (out / "cache").glob("ab-bins-*.json")
    counts = torch.tensor(json.loads(kept.read_text())["counts"])
    weights = state["state_dict"]["generator.class_weights"]
    assert bool(state["state_dict"]["generator.class_weights_set"])
    assert torch.allclose(weights, rebalancing_weights(counts, ab_bins()))
    metrics = (out / "csv").rglob("metrics.csv")
    header = next(iter(metrics)).read_text().splitlines()[0]
    assert "train/g_ce_step" in header


def test_a_classification_run_resumes_without_counting_again(classification_run, tmp_path):
    from colorgan.config import asset_path

    out, ckpt = classification_run
    resumed = train_tiny(
        tmp_path / "resumed",
        f"data.root={asset_path('demo')}",
        *CLASSES_RUN,
        "trainer.max_epochs=4",
        f"data.cache_dir={tmp_path / 'cache'}",
        f"ckpt_path={ckpt}",
    )
    before = torch.load(ckpt, map_location="cpu", weights_only=True)
    after = torch.load(resumed, map_location="cpu", weights_only=True)
    assert after["global_step"] > before["global_step"]
    assert torch.equal(after["state_dict"]["generator.class_weights"], before["state_dict"]["generator.class_weights"])
    assert not list((tmp_path / "cache").glob("ab-bins-*.json")), "a resumed run has its weights: nothing counted"


def _gray_photo(tmp_path, asset_dir):
    rgb = Image.open(asset_dir / ASSET_PHOTO).convert("L").convert("RGB").resize((128, 96))
    path = tmp_path / "gray.png"
    rgb.save(path)
    return path


def _colourfulness_of(path) -> float:
    rgb = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    return float(colorfulness(rgb))


def test_colorize_is_more_colourful_at_a_low_temperature(classification_run, tmp_path):
    from colorgan.config import asset_path

    _, ckpt = classification_run
    gray = _gray_photo(tmp_path, Path(asset_path("photos")))
    done = run_module(
        "colorgan.colorize",
        "--ckpt",
        str(ckpt),
        "-o",
        str(tmp_path / "vivid"),
        "--device",
        "cpu",
        "--temperature",
        "0.1",
        str(gray),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    from colorgan.inference.colorizer import Colorizer

    safe = Colorizer.from_checkpoint(ckpt, device="cpu", temperature=1.0)
    safe(gray).save(tmp_path / "safe.png")
    scores = {
        "0.1": _colourfulness_of(tmp_path / "vivid" / "gray.png"),
        "1.0": _colourfulness_of(tmp_path / "safe.png"),
    }
    assert scores["0.1"] > scores["1.0"] + 3, scores


def test_a_regression_model_refuses_a_temperature(tiny_ckpt, tmp_path):
    from colorgan.config import asset_path

    photo = Path(asset_path("photos")) / ASSET_PHOTO
    done = run_module(
        "colorgan.colorize",
        "--ckpt",
        str(tiny_ckpt),
        "-o",
        str(tmp_path / "out"),
        "--device",
        "cpu",
        "--temperature",
        "0.2",
        str(photo),
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), "refused before any work"
    assert "model.head=regression" in done.stderr and "temperature" in done.stderr
    from colorgan.inference.colorizer import Colorizer

    with pytest.raises(ValueError, match="model.head=classification"):
        Colorizer.from_checkpoint(tiny_ckpt, device="cpu", temperature=0.5)
    assert Colorizer.from_checkpoint(tiny_ckpt, device="cpu").temperature is None


def test_the_temperature_reaches_the_colorizer_and_the_weights_export(classification_run, tmp_path):
    from colorgan.export import export
    from colorgan.inference.colorizer import Colorizer

    _, ckpt = classification_run
    colorizer = Colorizer.from_checkpoint(ckpt, device="cpu")
    assert colorizer.temperature == pytest.approx(0.38)
    L_ = torch.rand(1, 1, 64, 64) * 2 - 1
    at = {}
    for t in (0.1, 1.0):
        colorizer.temperature = t
        at[t] = colorizer.predict_ab(L_)
    assert not torch.allclose(at[0.1], at[1.0])
    export(ckpt, tmp_path / "g.pt", "weights", temperature=0.1)
    generator, _ = load_generator(str(tmp_path / "g.pt"))
    assert isinstance(generator, ClassificationHead) and generator.temperature == pytest.approx(0.1)
    assert torch.allclose(Colorizer.from_checkpoint(tmp_path / "g.pt", device="cpu").predict_ab(L_), at[0.1], atol=1e-5)


def test_a_streamed_set_is_counted_from_its_own_photos(photo_root, tmp_path):
    from colorgan.data.preparing import prepare_photos
    from colorgan.data.streaming import StreamingDataModule

    prepare_photos(photo_root, str(tmp_path / "set"), size=64, num_workers=1)
    dm = StreamingDataModule(
        input_dir=str(tmp_path / "set"), image_size=64, batch_size=4, num_workers=0, cache_dir=str(tmp_path / "cache")
    )
    dm.setup("fit")
    bins = ab_bins()
    stored = dm._make("train", train=False)
    from torchvision.io import ImageReadMode, decode_image

    images = [decode_image(stored.stored(i)["image"], mode=ImageReadMode.RGB) for i in range(len(stored))]
    assert len(images) == 16
    counts = classes.training_counts(dm, bins, torch.device("cpu"))
    assert counts.tolist() == _count_by_hand(images, bins.double().numpy()).tolist()
    assert list((tmp_path / "cache").glob("ab-bins-*.json")), "kept beside the streamed chunks' cache"


def test_a_hinted_generator_trains_with_the_head_and_follows_a_point(photo_root, tmp_path):
    from colorgan.inference.colorizer import Colorizer

    ckpt = train_tiny(
        tmp_path,
        f"data.root={photo_root}",
        "model.hints.enabled=true",
        "model.head=classification",
        f"data.cache_dir={tmp_path / 'cache'}",
    )
    colorizer = Colorizer.from_checkpoint(ckpt, device="cpu", temperature=0.1)
    assert colorizer.takes_hints and colorizer.temperature == pytest.approx(0.1)
    L_ = torch.zeros(1, 1, 64, 64)
    hints = torch.zeros(1, 3, 64, 64)
    hints[:, 0, 28:36, 28:36], hints[:, 2, 28:36, 28:36] = 0.6, 1.0  # a red point in the middle
    assert not torch.allclose(colorizer.predict_ab(L_, hints), colorizer.predict_ab(L_))


def test_the_onnx_export_decodes_at_the_temperature_asked(classification_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from colorgan.export import export
    from colorgan.inference.colorizer import Colorizer

    _, ckpt = classification_run
    info = export(ckpt, tmp_path / "g.onnx", "onnx", temperature=0.1)
    assert info["max_abs_diff"] is not None and info["max_abs_diff"] < 1e-3  # the export's own check, at T=0.1
    L_ = torch.rand(1, 1, 64, 64) * 2 - 1
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"L": L_.numpy()})
    vivid = Colorizer.from_checkpoint(ckpt, device="cpu", temperature=0.1).generator
    safe = Colorizer.from_checkpoint(ckpt, device="cpu", temperature=1.0).generator
    with torch.no_grad():
        assert np.allclose(got, vivid(L_).numpy(), atol=1e-3)
        assert not np.allclose(got, safe(L_).numpy(), atol=1e-3)


def test_a_run_started_from_another_models_weights_counts_its_own_photos(classification_run, photo_root, tmp_path):
    _, ckpt = classification_run
    started = train_tiny(
        tmp_path / "run",
        f"data.root={photo_root}",
        *CLASSES_RUN,
        f"model.init_from={ckpt}",
        f"data.cache_dir={tmp_path / 'cache'}",
    )
    [kept] = (tmp_path / "cache").glob("ab-bins-*.json")
    counts = torch.tensor(json.loads(kept.read_text())["counts"])
    weights = torch.load(started, map_location="cpu", weights_only=True)["state_dict"]["generator.class_weights"]
    source = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]["generator.class_weights"]
    assert torch.allclose(weights, rebalancing_weights(counts, ab_bins()))
    assert not torch.allclose(weights, source), "the demo photos' weights are not these photos'"
