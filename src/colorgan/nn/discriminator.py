"""The PatchGAN discriminator: judges (L, ab) pairs patch by patch."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as spectral_norm_

from colorgan.nn.norm import conv_bias, init_weights, norm_layer


class PatchDiscriminator(nn.Module):
    """Pix2Pix ``NLayerDiscriminator``: 70x70 receptive field with ``n_layers=3``.

    ``n_layers`` stride-2 4x4 convs (``ndf, 2ndf, 4ndf, ...`` capped at ``8ndf``), then a stride-1 conv and a
    stride-1 conv to one logit per patch. At 256 px with ``n_layers=3`` the output is ``(B, 1, 30, 30)``.

    With ``spectral_norm`` every conv's weight is divided by its largest singular value (Miyato et al. 2018,
    ``torch.nn.utils.parametrizations.spectral_norm``, one power iteration per training forward), which keeps D
    1-Lipschitz per layer, as in SNGAN and DeOldify's critic. Their critics drop the norm layers with it
    (``norm="none"``); here the two settings are independent.

    Shapes: ``(B, in_channels, H, W)`` (L and ab concatenated, ``in_channels=3``) -> ``(B, 1, h, w)`` logits.
    """

    def __init__(
        self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "batch", spectral_norm: bool = False
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"model.discriminator.n_layers must be at least 1, got {n_layers}")
        norm_cls, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
                norm_cls(ndf * mult),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        init_weights(self)  # before spectral norm, which keeps the initialised weight as its `original`
        if spectral_norm:
            for i, layer in enumerate(self.model):
                if isinstance(layer, nn.Conv2d):
                    self.model[i] = spectral_norm_(layer)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)
