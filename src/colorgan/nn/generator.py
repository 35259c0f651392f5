"""The Pix2Pix U-Net generator: L in, ab out."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from colorgan.nn.norm import conv_bias, init_weights, norm_layer


class UNetGenerator(nn.Module):
    """U-Net with skip connections (Isola et al., 2017), as in the Pix2Pix ``unet_256``.

    ``num_downs`` stride-2 4x4 conv blocks halve the image each time; at 256 px with ``num_downs=8`` the bottleneck
    is 1x1. Encoder widths are ``ngf, 2ngf, 4ngf, 8ngf, 8ngf, ...``; every block but the first and the innermost
    has a norm; LeakyReLU(0.2) between them. The decoder mirrors it with ReLU + 4x4 stride-2 ConvTranspose blocks
    whose input is the previous output concatenated with the matching encoder output; the last block ends in
    ``tanh``. As in Pix2Pix, dropout follows the decoder blocks at ``8ngf`` other than the innermost one:
    ``num_downs - 5`` of them at every size (3 at 256 px, 2 at 128 px, none at 32 px).

    Args:
        in_channels: 1 (normalised L), or 4 for a hinted model: L, then the ab hints and their mask
            (:mod:`colorgan.nn.hints`), all entering through the first conv.
        out_channels: 2 (normalised ab).
        ngf: width of the first layer (64 in Pix2Pix).
        num_downs: number of down blocks; the input side must be divisible by ``2**num_downs``.
        norm: ``"batch"`` | ``"instance"`` | ``"none"``.
        dropout: dropout probability in the inner decoder blocks at ``8ngf`` (0 to disable).

    Shapes: ``(B, in_channels, H, W)`` in [-1, 1] -> ``(B, out_channels, H, W)`` in [-1, 1].
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        ngf: int = 64,
        num_downs: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"model.generator.num_downs must be at least 5, got {num_downs}")
        self.num_downs = num_downs
        norm_cls, bias = norm_layer(norm), conv_bias(norm)
        widths = [ngf * min(2**i, 8) for i in range(num_downs)]

        downs: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 4, 2, 1, bias=bias)]
        for i in range(1, num_downs):
            layers: list[nn.Module] = [
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=bias),
            ]
            if i < num_downs - 1:  # the innermost block has no norm (its output can be 1x1)
                layers.append(norm_cls(widths[i]))
            downs.append(nn.Sequential(*layers))
        self.downs = nn.ModuleList(downs)

        ups: list[nn.Module] = []
        for i in reversed(range(1, num_downs)):  # decoder block i produces widths[i - 1] channels
            in_ch = widths[i] if i == num_downs - 1 else 2 * widths[i]
            layers = [
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(in_ch, widths[i - 1], 4, 2, 1, bias=bias),
                norm_cls(widths[i - 1]),
            ]
            # Pix2Pix's dropout blocks: 8 ngf in and out, the innermost one excepted (num_downs - 5 of them)
            if dropout > 0 and widths[i - 1] == 8 * ngf and i < num_downs - 1:
                layers.append(nn.Dropout(dropout))
            ups.append(nn.Sequential(*layers))
        ups.append(
            nn.Sequential(
                nn.ReLU(inplace=True),
                nn.ConvTranspose2d(2 * widths[0], out_channels, 4, 2, 1),
                nn.Tanh(),
            )
        )
        self.ups = nn.ModuleList(ups)
        init_weights(self)

    @property
    def divisor(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.num_downs

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.divisor or w % self.divisor:
            raise ValueError(
                f"generator input {h}x{w} is not divisible by 2**num_downs = {self.divisor}; "
                "resize the input or lower model.generator.num_downs"
            )
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[0](skips[-1])
        for up, skip in zip(self.ups[1:], reversed(skips[:-1])):
            x = up(torch.cat([skip, x], dim=1))
        return x
