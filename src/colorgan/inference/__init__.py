"""Inference: trained generators turned into colour photos.

- ``colorizer``: :class:`~colorgan.inference.colorizer.Colorizer`, any photo in, a colour photo of the same size out
"""
