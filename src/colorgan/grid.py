"""The old import path of :mod:`colorgan.training.grid`, kept while the measuring modules move to
``colorgan.evaluation``; delete it once they import ``colorgan.training.grid``."""

from colorgan.training.grid import font, labelled_grid, side_by_side

_font = font

__all__ = ["font", "labelled_grid", "side_by_side"]
