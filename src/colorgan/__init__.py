"""colorgan: colorize black-and-white photographs with Pix2Pix conditional GANs."""

__version__ = "0.1.0"
