"""model.generator.weights: a state-dict file, torchvision's ImageNet weights from the cache, and the errors."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import torch
from torchvision.models import get_model

from colorgan.nn import build_generator
from colorgan.nn.pretrained import PretrainedWeightsError, cache_file

URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"


def resnet_config(weights: object, encoder: str = "resnet18") -> dict:
    return {"name": "resnet_unet", "encoder": encoder, "ngf": 8, "weights": None if weights is None else str(weights)}


def torchvision_state(arch: str, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return get_model(arch, weights=None).state_dict()


def assert_encoder_holds(generator: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    encoder = generator.encoder.state_dict()
    assert set(encoder) == {k for k in state if not k.startswith("fc.")}
    for key, value in encoder.items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)


def test_weights_file_is_loaded_into_the_encoder(tmp_path: Path):
    state = torchvision_state("resnet18", seed=1)
    path = tmp_path / "my_resnet18.pth"
    torch.save(state, path)
    assert_encoder_holds(build_generator(resnet_config(path)), state)
    torch.save({"state_dict": state, "epoch": 3}, path)  # a training script's checkpoint around it
    assert_encoder_holds(build_generator(resnet_config(path)), state)
    random = build_generator(resnet_config(None)).encoder.state_dict()
    assert not torch.equal(random["conv1.weight"], state["conv1.weight"])


def test_a_file_of_another_network_is_refused_with_what_does_not_fit(tmp_path: Path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision_state("resnet34", seed=0), path)
    with pytest.raises(PretrainedWeightsError, match="does not fit resnet18") as err:
        build_generator(resnet_config(path))
    assert str(path) in str(err.value) and "unexpected: layer1.2.conv1.weight," in str(err.value)
    assert "and 92 more" in str(err.value)  # 96 keys of resnet34's extra blocks, the first four named
    torch.save(torchvision_state("resnet50", seed=0), path)
    wrong = r"wrong shape: layer1.0.conv1.weight \(64, 64, 1, 1\) instead of \(64, 64, 3, 3\)"
    with pytest.raises(PretrainedWeightsError, match=wrong):
        build_generator(resnet_config(path))


def test_missing_or_unreadable_files_are_named(tmp_path: Path):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(PretrainedWeightsError, match=f"model.generator.weights={missing}: there is no such file"):
        build_generator(resnet_config(missing))
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(PretrainedWeightsError, match=f"'{text}' could not be read as PyTorch weights"):
        build_generator(resnet_config(text))
    # a generator whose weights come from a checkpoint does not read the file at all
    assert build_generator(resnet_config(missing), pretrained=False).encoder_name == "resnet18"


def test_imagenet_weights_come_from_torchvisions_cache_without_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert cache_file("resnet18") == cached
    cached.parent.mkdir(parents=True)
    state = torchvision_state("resnet18", seed=2)
    torch.save(state, cached)
    # the test suite's downloader refuses (tests/conftest.py): this works only from the cache
    assert_encoder_holds(build_generator(resnet_config("imagenet")), state)


def test_imagenet_weights_are_never_downloaded_and_the_error_says_what_to_put_where(tmp_path, monkeypatch):
    """colorgan downloads nothing: without the cached file it stops at once, naming the file, the folder and the
    address, and no download is even tried (torch.hub's downloader and urllib are both watched)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    tried = []

    def watch(*args, **kwargs):
        tried.append(args[0] if args else kwargs)
        raise AssertionError("a download was tried")

    monkeypatch.setattr(torch.hub, "download_url_to_file", watch)
    monkeypatch.setattr(urllib.request, "urlopen", watch)
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator(resnet_config("imagenet"))
    message = str(err.value)
    assert tried == []
    where = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert f"Download {URL} and put it at {where}" in message
    assert "model.generator.weights=imagenet" in message and "never downloads" in message
    assert "model.generator.weights=/path/to/resnet18-f37072fd.pth" in message
    assert not where.exists()


def test_a_damaged_cached_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = cache_file("resnet18")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(PretrainedWeightsError, match=f"the cached weights file {cached} could not be read"):
        build_generator(resnet_config("imagenet"))
