"""The timm-encoder U-Net: shapes for the named encoders, a skip from every stage, the input each encoder is given."""

from __future__ import annotations

import pytest
import timm
import torch

from colorgan.color import rgb_to_model_lab
from colorgan.nn import EncoderUNetGenerator, ResNetUNetGenerator, build_generator, generator_settings
from colorgan.nn.resnet_unet import PixelShuffleUp

SLOW = pytest.mark.slow  # the big encoders take several seconds to build on one CPU core


@pytest.mark.parametrize(
    "encoder",
    ["resnet18", "tf_efficientnet_lite0", "convnext_atto", pytest.param("resnet34", marks=SLOW),
     pytest.param("resnet50", marks=SLOW), pytest.param("convnext_tiny", marks=SLOW),
     pytest.param("efficientnet_b0", marks=SLOW)],
)
def test_every_named_encoder_maps_L_to_ab(encoder):
    g = EncoderUNetGenerator(encoder, ngf=8).eval()
    x = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        out = g(x)
    assert out.shape == (2, 2, 64, 96) and out.abs().max() <= 1 and torch.isfinite(out).all()
    assert g.divisor == 32
    # the decoder joins every stage but the deepest, deepest first, at the width timm says it has
    info = g.encoder.feature_info
    assert [stage.skip_norm.num_features for stage in g.decoder] == info.channels()[-2::-1]


def test_each_stage_meets_the_encoder_map_of_its_size():
    # ConvNeXt's first map is at 1/4 (no 1/2 map): the last upsampling then doubles twice
    g = EncoderUNetGenerator("convnext_atto", ngf=8).eval()
    seen = []
    for stage in g.decoder:
        stage.register_forward_hook(lambda m, args, out: seen.append((args[0].shape[-1], args[1].shape[-1])))
    with torch.no_grad():
        g(torch.zeros(1, 1, 64, 64))
    assert seen == [(2, 4), (4, 8), (8, 16)]
    assert len(g.final_up) == 2 and all(isinstance(up, PixelShuffleUp) for up in g.final_up)
    assert g.head[1].in_channels == 2 * 8 + 1  # the 1/4 stage (2 x ngf wide) and the input L


def _what_the_encoder_sees(g: EncoderUNetGenerator, L: torch.Tensor) -> torch.Tensor:
    seen = []
    g.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    with torch.no_grad():
        g.eval()(L)
    return seen[0]


@pytest.mark.parametrize(
    "encoder, mean, std",
    [("tf_efficientnet_lite0", (0.5,) * 3, (0.5,) * 3),
     ("resnet18", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))],
)
def test_forward_gives_the_encoder_the_gray_photo_in_its_own_normalisation(encoder, mean, std):
    # gray photos of known sRGB values -> the model's L -> what the encoder is given in forward
    values = torch.linspace(0, 1, 32)
    rgb = values.view(1, 1, 1, 32).repeat(1, 3, 32, 1)
    L, _ = rgb_to_model_lab(rgb)
    g = EncoderUNetGenerator(encoder, ngf=8)
    assert (tuple(g.encoder.pretrained_cfg["mean"]), tuple(g.encoder.pretrained_cfg["std"])) == (mean, std)
    seen = _what_the_encoder_sees(g, L)
    expected = (rgb - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert seen.shape == (1, 3, 32, 32)
    torch.testing.assert_close(seen, expected, atol=1e-3, rtol=0)


def test_build_generator_and_the_settings_name_the_encoder_unet():
    g = build_generator({"name": "encoder_unet", "encoder": "resnet18", "ngf": 8})
    assert isinstance(g, EncoderUNetGenerator) and g.encoder_name == "resnet18"
    settings = generator_settings({"name": "encoder_unet", "ngf": 8})
    assert settings["encoder"] == "tf_efficientnet_lite0" and settings["weights"] is None


def test_a_name_timm_does_not_have_is_refused_with_the_setting():
    with pytest.raises(ValueError, match=r"model\.generator\.encoder='resnet19' is not a timm model.*resnet18"):
        EncoderUNetGenerator("resnet19", ngf=8)
    assert timm.is_model("resnet18")


def test_sizes_not_a_multiple_of_the_deepest_stride_are_refused():
    with pytest.raises(ValueError, match="not divisible by 32 .*resnet18"):
        EncoderUNetGenerator("resnet18", ngf=8)(torch.zeros(1, 1, 48, 64))


def test_on_a_resnet_it_is_the_resnet_unet_key_for_key_and_output_for_output():
    # the two generators share the decoder; timm's ResNet has torchvision's layers and names
    resnet = ResNetUNetGenerator("resnet18", ngf=8).eval()
    timm_resnet = EncoderUNetGenerator("resnet18", ngf=8).eval()
    timm_resnet.load_state_dict(resnet.state_dict(), strict=True)
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(timm_resnet(x), resnet(x), rtol=0, atol=1e-6)
