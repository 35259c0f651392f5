"""The ResNet U-Net: shapes for every encoder, skips from every stage, the gray picture the encoder sees, ICNR."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import get_model

from colorgan.color import rgb_to_model_lab
from colorgan.nn import ResNetUNetGenerator, UNetGenerator, build_generator, generator_settings
from colorgan.nn.resnet_unet import IMAGENET_MEAN, IMAGENET_STD, PixelShuffleUp, icnr_

# what torchvision's ResNets put out after the stem and layer1..layer3, as the decoder meets them
SKIPS = {"resnet18": [256, 128, 64, 64], "resnet34": [256, 128, 64, 64], "resnet50": [1024, 512, 256, 64]}


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    "encoder, size",
    [("resnet18", (64, 96)), ("resnet34", (64, 96)), ("resnet50", (64, 96)), ("resnet18", (32, 32)),
     ("resnet18", (96, 64))],
)
def test_every_encoder_maps_L_to_ab_at_multiples_of_32(encoder, size):
    g = ResNetUNetGenerator(encoder, ngf=8).eval()
    x = torch.rand(2, 1, *size) * 2 - 1
    with torch.no_grad():
        out = g(x)
    assert out.shape == (2, 2, *size) and out.dtype == torch.float32
    assert out.abs().max() <= 1 and torch.isfinite(out).all()
    assert g.divisor == 32


@pytest.mark.parametrize("encoder", sorted(SKIPS))
def test_encoder_is_torchvisions_resnet_without_its_classifier(encoder):
    g = ResNetUNetGenerator(encoder, ngf=8)
    tv = get_model(encoder, weights=None)
    assert n_params(g.encoder) == n_params(tv) - n_params(tv.fc)
    assert set(g.encoder.state_dict()) == {k for k in tv.state_dict() if not k.startswith("fc.")}


@pytest.mark.parametrize("encoder", sorted(SKIPS))
def test_decoder_joins_every_encoder_stage_and_the_input(encoder):
    ngf = 8
    g = ResNetUNetGenerator(encoder, ngf=ngf)
    assert [stage.skip_norm.num_features for stage in g.decoder] == SKIPS[encoder]
    assert [stage.convs[-1][0].out_channels for stage in g.decoder] == [8 * ngf, 4 * ngf, 2 * ngf, ngf]
    assert g.head[1].in_channels == ngf + 1  # the last stage sees the input L too


def test_each_decoder_stage_doubles_and_meets_the_encoder_map_of_its_size():
    g = ResNetUNetGenerator("resnet18", ngf=8).eval()
    seen = []
    for stage in g.decoder:
        stage.register_forward_hook(lambda m, args, out: seen.append((args[0].shape[-1], args[1].shape[-1])))
    with torch.no_grad():
        g(torch.zeros(1, 1, 64, 64))
    assert seen == [(2, 4), (4, 8), (8, 16), (16, 32)]


def test_the_encoder_sees_the_gray_photo_imagenet_normalised():
    # gray photos of known sRGB values -> the model's L -> what the encoder is given
    values = torch.linspace(0, 1, 11)
    rgb = values.view(1, 1, 1, 11).repeat(1, 3, 1, 1)
    L, _ = rgb_to_model_lab(rgb)
    seen = ResNetUNetGenerator("resnet18", ngf=8).encoder_input(L)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(seen * std + mean, rgb, atol=2e-4, rtol=0)


def test_forward_gives_the_encoder_the_imagenet_normalised_gray_photo():
    # what the encoder's first conv receives when the generator runs: gray photos of known sRGB values, ImageNet-
    # normalised (raw L, or L merely repeated over three channels, is not what ImageNet weights were trained on)
    rgb = torch.linspace(0, 1, 32 * 32).view(1, 1, 32, 32).repeat(1, 3, 1, 1)
    L, _ = rgb_to_model_lab(rgb)
    g = ResNetUNetGenerator("resnet18", ngf=8).eval()
    seen = []
    g.encoder.conv1.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        g(L)
    [given] = seen
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(given * std + mean, rgb, atol=2e-4, rtol=0)


def test_dropout_draws_noise_in_training_only_and_leaves_the_weights_alone():
    torch.manual_seed(0)
    plain, noisy = ResNetUNetGenerator("resnet18", ngf=8), ResNetUNetGenerator("resnet18", ngf=8, dropout=0.5)
    assert set(plain.state_dict()) == set(noisy.state_dict())  # checkpoints load either way
    noisy.load_state_dict(plain.state_dict())
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        noisy.eval(), plain.eval()
        torch.testing.assert_close(noisy(x), plain(x))  # none at inference
        noisy.train()
        assert not torch.equal(noisy(x), noisy(x))  # a new mask on every pass
    with pytest.raises(ValueError, match=r"model\.generator\.dropout=1\.0 must be in \[0, 1\)"):
        ResNetUNetGenerator("resnet18", ngf=8, dropout=1.0)


def test_icnr_upsampling_starts_as_nearest_neighbour():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 4 * 5, 1, bias=False)
    icnr_(conv.weight)
    up = nn.PixelShuffle(2)(conv(torch.randn(2, 6, 5, 7)))  # (2, 5, 10, 14)
    torch.testing.assert_close(up, nn.functional.interpolate(up[..., ::2, ::2], scale_factor=2, mode="nearest"))
    # a plain Kaiming init has no such structure: the checkerboard ICNR avoids
    nn.init.kaiming_normal_(conv.weight)
    up = nn.PixelShuffle(2)(conv(torch.randn(2, 6, 5, 7)))
    assert not torch.allclose(up, nn.functional.interpolate(up[..., ::2, ::2], scale_factor=2, mode="nearest"))


def test_every_upsampling_stage_starts_without_a_checkerboard():
    torch.manual_seed(0)
    g = ResNetUNetGenerator("resnet18", ngf=8)
    stages = [stage.up for stage in g.decoder] + [g.final_up]
    assert len(stages) == 5 and all(isinstance(s, PixelShuffleUp) for s in stages)
    for up in stages:
        x = torch.randn(1, up.conv.in_channels, 4, 4)
        shuffled = up.shuffle(torch.relu(up.conv(x)))  # before the blur: each 2x2 block is one value
        nearest = nn.functional.interpolate(shuffled[..., ::2, ::2], scale_factor=2, mode="nearest")
        torch.testing.assert_close(shuffled, nearest)
        assert up(x).shape[-2:] == (8, 8)


def test_sizes_not_a_multiple_of_32_are_refused():
    with pytest.raises(ValueError, match="not divisible by 32"):
        ResNetUNetGenerator("resnet18", ngf=8)(torch.zeros(1, 1, 48, 64))
    with pytest.raises(ValueError, match="model.generator.encoder must be one of"):
        ResNetUNetGenerator("resnet101")


def test_the_module_refuses_a_training_size_the_resnet_cannot_take():
    from colorgan.training.module import ColorGAN

    with pytest.raises(ValueError, match=r"data\.image_size=80 is not divisible by the generator's size multiple = 32"):
        ColorGAN(generator={"name": "resnet_unet", "encoder": "resnet18", "ngf": 8}, image_size=80)


def test_build_generator_picks_the_network_by_name():
    assert isinstance(build_generator({"name": "resnet_unet", "encoder": "resnet18", "ngf": 8}), ResNetUNetGenerator)
    assert isinstance(build_generator({"name": "unet", "ngf": 8, "num_downs": 5}), UNetGenerator)
    assert isinstance(build_generator({"ngf": 8, "num_downs": 5}), UNetGenerator)  # no name: checkpoints before it
    with pytest.raises(ValueError, match=r"name must be one of unet, resnet_unet, encoder_unet, got 'vit'"):
        build_generator({"name": "vit"})
    with pytest.raises(ValueError, match=r"model\.generator\.num_downs: not a setting of the resnet_unet generator"):
        build_generator({"name": "resnet_unet", "num_downs": 5})


def test_generator_settings_fill_in_the_defaults():
    assert generator_settings({}) == {**generator_settings({"name": "unet"})}
    full = generator_settings({"name": "resnet_unet", "ngf": 8})
    assert full == {"name": "resnet_unet", "encoder": "resnet34", "weights": None, "out_channels": 2, "ngf": 8,
                    "norm": "batch", "dropout": 0.0, "in_channels": 1}


def test_a_new_generator_starts_near_gray_not_saturated():
    # a tanh output that starts saturated paints garish colours and passes back almost no gradient
    torch.manual_seed(0)
    for encoder in ("resnet18", "resnet50"):
        g = ResNetUNetGenerator(encoder, ngf=32)
        with torch.no_grad():
            ab = g(torch.rand(4, 1, 64, 64) * 2 - 1)
        assert ab.abs().mean() < 0.2 and (ab.abs() > 0.9).float().mean() < 0.01, encoder
