"""keep_freed_memory: a process that allocates and frees batch-sized tensors stops paying page faults for them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from torch.utils.data import DataLoader
from colorgan.host_memory import keep_freed_memory
from colorgan.data.cache import TensorPhotos
from colorgan.data.datamodule import ColorizationDataModule

applied = keep_freed_memory()
torch.manual_seed(0)
photos = TensorPhotos(torch.randint(0, 256, (64, 3, 128, 128), dtype=torch.uint8))
loader = DataLoader(photos, batch_size=16, shuffle=True, drop_last=True, collate_fn=photos.collate)
dm = ColorizationDataModule(root="unused", image_size=128, batch_size=16, num_workers=0)


def epoch():  # the cached data path: gather a batch, flip it, convert it to LAB
    for batch in loader:
        dm.to_lab_batch(batch["image"], train=True, owned=True)


epoch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    epoch()
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / (10 * len(loader)))
"""


def _probe(**env: str) -> tuple[bool, float]:
    out = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    return out[0] == "True", float(out[1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_keep_freed_memory_removes_most_page_faults_of_a_batch_loop():
    on, faults_on = _probe()
    off, faults_off = _probe(COLORGAN_KEEP_FREED_MEMORY="0")
    assert on and not off
    assert faults_off > 200  # glibc's defaults: fresh pages for every batch (537 to 2420 per batch seen)
    assert faults_on < faults_off / 2  # (51 to 134 seen)


def test_keep_freed_memory_is_applied_once_and_reports_it():
    from colorgan import host_memory

    first = host_memory.keep_freed_memory()
    assert host_memory.keep_freed_memory() is first
