"""Inference: trained generators turned into colour photos.

- ``colorizer``: :class:`~colorgan.inference.colorizer.Colorizer`, any photo in, a colour photo of the same size
  out (batching, the out-of-memory fallbacks)
- ``letterbox``: the photo fitted into the generator's square, and its place there
- ``fullres``: the predicted colour joined with the photo's own full-resolution lightness
- ``inputs``: INPUT arguments (files, folders, globs) expanded into the photos to colorize
- ``outputs``: output names that no input and no other photo has, and atomic writes
"""
