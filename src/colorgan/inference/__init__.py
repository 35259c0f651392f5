"""Inference: trained generators turned into colour photos and films.

- ``colorizer``: :class:`~colorgan.inference.colorizer.Colorizer`, any photo in, a colour photo of the same size
  out (batching, the out-of-memory fallbacks)
- ``video``: :class:`~colorgan.inference.video.VideoColorizer`, a film in, a colour film with the same frames,
  rate and sound out (PyAV, the ``video`` extra)
- ``temporal``: the colour of a film smoothed over time without smearing motion, and its flicker measured
- ``letterbox``: the photo fitted into the generator's square, and its place there
- ``fullres``: the predicted colour joined with the photo's own full-resolution lightness
- ``inputs``: INPUT arguments (files, folders, globs) expanded into the photos and videos to colorize
- ``outputs``: output names that no input and no other photo has, and atomic writes
"""
