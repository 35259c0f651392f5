"""keep_freed_memory: a process that allocates and frees batch-sized tensors stops paying page faults for them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from colorgan.host_memory import keep_freed_memory

applied = keep_freed_memory()
cache = torch.zeros(64, 3, 128, 128, dtype=torch.uint8)


def step():  # the cached data path's pattern: gather a batch, convert it, keep the result, drop the rest
    x = cache.index_select(0, torch.randint(0, 64, (16,)))
    lab = x.float()
    return lab[:, :1].clone(), lab[:, 1:].clone()


kept = []
for _ in range(5):
    kept = [step(), *kept[:1]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    kept = [step(), *kept[:1]]
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
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
    assert faults_off > 50  # glibc's defaults: fresh pages for every batch
    assert faults_on < faults_off / 2


def test_keep_freed_memory_is_applied_once_and_reports_it():
    from colorgan import host_memory

    first = host_memory.keep_freed_memory()
    assert host_memory.keep_freed_memory() is first
