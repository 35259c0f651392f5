"""Inference: trained generators turned into colour photos and films.

- ``engine``: the steps photos and films share: the model's input square, the generator run with its
  out-of-memory fallbacks, the join with the full-resolution lightness
- ``colorizer``: :class:`~colorgan.inference.colorizer.Colorizer`, any photo in, a colour photo of the same size
  out (reading photos, batching)
- ``video``: :class:`~colorgan.inference.video.VideoColorizer`, a film in, a colour film with the same frames,
  rate and sound out (PyAV, the ``video`` extra): the frame loop
- ``video_streams``: film containers and streams: formats and codecs, rate, length, field order, rotation, the
  check that the whole film is in the file
- ``video_encoder``: the encoder of a colorized film and the writer of its frames
- ``temporal``: the colour of a film smoothed over time without smearing motion, and its flicker measured
- ``letterbox``: the photo fitted into the generator's square, and its place there
- ``fullres``: the predicted colour joined with the photo's own full-resolution lightness
- ``inputs``: INPUT arguments (files, folders, globs) expanded into the photos and videos to colorize
- ``outputs``: output names that no input and no other photo has, and atomic writes
"""
