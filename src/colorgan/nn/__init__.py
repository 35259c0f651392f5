"""The networks and losses of colorization: the generators (Pix2Pix U-Net, ResNet U-Net, timm-encoder U-Net),
PatchGAN, GAN and perceptual losses."""

from colorgan.nn.discriminator import PatchDiscriminator
from colorgan.nn.encoder_unet import EncoderUNetGenerator
from colorgan.nn.factory import GENERATORS, build_generator, generator_settings
from colorgan.nn.generator import UNetGenerator
from colorgan.nn.losses import GAN_MODES, GANLoss
from colorgan.nn.norm import init_weights
from colorgan.nn.perceptual import PerceptualLoss
from colorgan.nn.resnet_unet import ResNetUNetGenerator

__all__ = [
    "EncoderUNetGenerator",
    "GAN_MODES",
    "GENERATORS",
    "GANLoss",
    "PatchDiscriminator",
    "PerceptualLoss",
    "ResNetUNetGenerator",
    "UNetGenerator",
    "build_generator",
    "generator_settings",
    "init_weights",
]
