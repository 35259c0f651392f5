"""The networks and losses of Pix2Pix colorization."""

from colorgan.nn.discriminator import PatchDiscriminator
from colorgan.nn.generator import UNetGenerator
from colorgan.nn.losses import GAN_MODES, GANLoss
from colorgan.nn.norm import init_weights

__all__ = ["GAN_MODES", "GANLoss", "PatchDiscriminator", "UNetGenerator", "init_weights"]
