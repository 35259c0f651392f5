"""The old import path of :mod:`colorgan.training.results`, kept while the measuring modules move to
``colorgan.evaluation``; delete it once they import ``colorgan.training.results``."""

from colorgan.training.results import (
    TEST_GRID_FILE,
    TEST_IMAGES_FILE,
    TEST_METRICS_FILE,
    TEST_PHOTOS_FILE,
    TestRecord,
    read_test_record,
    to_uint8,
    write_json,
)

__all__ = [
    "TEST_GRID_FILE",
    "TEST_IMAGES_FILE",
    "TEST_METRICS_FILE",
    "TEST_PHOTOS_FILE",
    "TestRecord",
    "read_test_record",
    "to_uint8",
    "write_json",
]
