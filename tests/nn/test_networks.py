"""The networks: the real 256 px Pix2Pix shapes and sizes, initialisation, and the GAN losses."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from colorgan.nn import GANLoss, PatchDiscriminator, UNetGenerator


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def unet_param_count(in_ch: int, out_ch: int, ngf: int = 64, downs: int = 8) -> int:
    """Parameters of Pix2Pix's unet_256 by hand: 4x4 convs without bias before BatchNorm, BN scale+shift."""
    w = [ngf * min(2**i, 8) for i in range(downs)]
    conv = lambda cin, cout: 16 * cin * cout  # noqa: E731
    total = conv(in_ch, w[0])  # outermost down: no norm, no bias (BatchNorm variant)
    total += sum(conv(w[i - 1], w[i]) for i in range(1, downs))
    total += sum(2 * w[i] for i in range(1, downs - 1))  # down norms (not the outermost, not the innermost)
    total += conv(w[-1], w[-2]) + 2 * w[-2]  # innermost up
    total += sum(conv(2 * w[i], w[i - 1]) + 2 * w[i - 1] for i in range(1, downs - 1))
    total += conv(2 * w[0], out_ch) + out_ch  # outermost up: ConvTranspose with bias, then tanh
    return total


def test_real_generator_shapes_and_size():
    g = UNetGenerator()  # 1 -> 2 channels, ngf 64, 8 downs
    assert n_params(g) == unet_param_count(1, 2) == 54_409_858
    # Pix2Pix prints "54.414 M" parameters for its 3 -> 3 channel unet_256
    assert round(n_params(UNetGenerator(3, 3)) / 1e6, 3) == 54.414
    assert len(g.downs) == 8 and len(g.ups) == 8
    widths = [d.weight.shape[0] if isinstance(d, nn.Conv2d) else d[1].weight.shape[0] for d in g.downs]
    assert widths == [64, 128, 256, 512, 512, 512, 512, 512]
    g.eval()
    with torch.no_grad():
        out = g(torch.rand(1, 1, 256, 256) * 2 - 1)
    assert out.shape == (1, 2, 256, 256) and out.abs().max() <= 1


def test_real_discriminator_is_70x70_patchgan():
    d = PatchDiscriminator()  # cat(L, ab): 3 channels
    # Pix2Pix prints "2.769 M" for its 6-channel basic D; ours sees 3 channels: 3 * 64 * 16 weights fewer
    assert round(n_params(PatchDiscriminator(6)) / 1e6, 3) == 2.769
    assert n_params(d) == n_params(PatchDiscriminator(6)) - 3 * 64 * 16
    with torch.no_grad():
        assert d(torch.zeros(2, 3, 256, 256)).shape == (2, 1, 30, 30)


@pytest.mark.parametrize("num_downs", [5, 6, 7, 8, 9])
def test_dropout_where_pix2pix_has_it_at_every_size(num_downs):
    """Pix2Pix's UnetGenerator nests, from the bottleneck out: the innermost block (no dropout), ``num_downs - 5``
    blocks at 8 ngf with dropout, then the 4ngf, 2ngf, ngf and outermost blocks (none). ``ups`` runs innermost first.
    """
    ngf = 4
    g = UNetGenerator(ngf=ngf, num_downs=num_downs, dropout=0.5)
    expected = [False] + [True] * (num_downs - 5) + [False] * 4
    with_dropout = [any(isinstance(m, nn.Dropout) for m in up.modules()) for up in g.ups]
    assert with_dropout == expected
    for up, dropout in zip(g.ups, with_dropout):
        if dropout:  # a decoder block at 8 ngf fed by another one and its skip: ConvTranspose2d(16 ngf -> 8 ngf)
            conv = next(m for m in up.modules() if isinstance(m, nn.ConvTranspose2d))
            assert (conv.in_channels, conv.out_channels) == (16 * ngf, 8 * ngf)
            assert isinstance(up[-1], nn.Dropout) and up[-1].p == 0.5  # after the norm, as in Pix2Pix
    assert not any(isinstance(m, nn.Dropout) for m in UNetGenerator(num_downs=num_downs, dropout=0.0).modules())
    # dropout has no weights and comes last in its block: checkpoints load whatever the placement was
    without = UNetGenerator(ngf=ngf, num_downs=num_downs, dropout=0.0)
    assert {k: v.shape for k, v in g.state_dict().items()} == {k: v.shape for k, v in without.state_dict().items()}


def test_weights_initialised_normal_002():
    g = UNetGenerator(ngf=16)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1.0) < 5e-3


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_small_models_any_norm(norm):
    g = UNetGenerator(ngf=8, num_downs=6, norm=norm)
    d = PatchDiscriminator(ndf=8, n_layers=2, norm=norm)
    x = torch.rand(2, 1, 64, 64)
    ab = g(x)
    assert ab.shape == (2, 2, 64, 64)
    assert d(torch.cat([x, ab], 1)).shape == (2, 1, 14, 14)  # 64 -> 32 -> 16 -> 15 -> 14


def test_generator_rejects_indivisible_sizes_and_shallow_depth():
    with pytest.raises(ValueError, match="divisible by 2\\*\\*num_downs = 64"):
        UNetGenerator(ngf=8, num_downs=6)(torch.zeros(1, 1, 96, 96))
    with pytest.raises(ValueError, match="num_downs"):
        UNetGenerator(num_downs=4)
    with pytest.raises(ValueError, match="norm must be one of"):
        UNetGenerator(norm="layer")


def test_gan_losses_reference_values():
    zeros, big = torch.zeros(2, 1, 4, 4), torch.full((2, 1, 4, 4), 10.0)
    vanilla = GANLoss("vanilla")
    assert vanilla.discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(2), abs=1e-6)
    assert vanilla.generator_loss(big).item() == pytest.approx(math.log1p(math.exp(-10)), abs=1e-6)
    ls = GANLoss("lsgan")
    assert ls.discriminator_loss(zeros, zeros).item() == pytest.approx(0.5)  # mean of (0-1)^2 and (0-0)^2
    assert ls.generator_loss(torch.ones(1, 1, 2, 2)).item() == pytest.approx(0.0)
    hinge = GANLoss("hinge")
    assert hinge.discriminator_loss(big, -big).item() == pytest.approx(0.0)
    assert hinge.discriminator_loss(zeros, zeros).item() == pytest.approx(1.0)
    assert hinge.generator_loss(big).item() == pytest.approx(-10.0)
    with pytest.raises(ValueError, match="gan_mode must be one of"):
        GANLoss("wgan")
