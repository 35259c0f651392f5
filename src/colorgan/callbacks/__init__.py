"""Lightning callbacks of colorgan."""

from colorgan.callbacks.crash import CrashCheckpoint
from colorgan.callbacks.interval import IntervalCheckpoint
from colorgan.callbacks.samples import SampleGrid
from colorgan.callbacks.skipped import SkippedPhotosReport

__all__ = ["CrashCheckpoint", "IntervalCheckpoint", "SampleGrid", "SkippedPhotosReport"]
