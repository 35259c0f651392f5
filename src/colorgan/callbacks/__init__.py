"""Lightning callbacks of colorgan."""

from colorgan.callbacks.crash import CrashCheckpoint
from colorgan.callbacks.samples import SampleGrid
from colorgan.callbacks.skipped import SkippedPhotosReport

__all__ = ["CrashCheckpoint", "SampleGrid", "SkippedPhotosReport"]
