"""keep_freed_memory: a process that allocates and frees batch-sized tensors stops paying page faults for them."""

from __future__ import annotations

import ctypes
import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from torch.utils.data import DataLoader
from colorgan.data.host_memory import keep_freed_memory
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


def test_importing_it_imports_neither_torch_nor_pillow():
    """Every command calls it first thing, and it lives in colorgan.data: importing it must not import the data
    path (colorgan.data imports its names on first use)."""
    code = (
        "import sys, colorgan.data.host_memory; "
        "print([m for m in ('torch', 'PIL', 'lightning') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_keep_freed_memory_removes_most_page_faults_of_a_batch_loop():
    # glibc's dynamic mmap threshold can leave a whole probe without fresh pages, even with the setting off: such a
    # probe shows nothing either way, so it is taken again (up to three times)
    for _ in range(3):
        on, faults_on = _probe()
        off, faults_off = _probe(COLORGAN_KEEP_FREED_MEMORY="0")
        if faults_off > 200:
            break
    assert on and not off
    assert faults_off > 200  # glibc's defaults: fresh pages for every batch (537 to 2420 per batch seen)
    assert faults_on < faults_off / 2  # (51 to 134 seen)


MALLINFO_PROBE = """
import ctypes, os
from colorgan.data.host_memory import keep_freed_memory

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

applied = keep_freed_memory()
os.environ["COLORGAN_KEEP_FREED_MEMORY"] = "1" if os.environ.get("COLORGAN_KEEP_FREED_MEMORY") == "0" else "0"
again = keep_freed_memory()  # once decided, a later call changes nothing
before = libc.mallinfo2()
block = libc.malloc(24 * 2**20)  # a batch-sized block: under the 32 MiB threshold, over glibc's default 128 KiB
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(applied, again, during.hblks - before.hblks, during.arena - before.arena, after.arena - before.arena)
"""


def _mallinfo(**env: str) -> tuple[bool, bool, int, int, int]:
    out = subprocess.run([sys.executable, "-c", MALLINFO_PROBE], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    return out[0] == "True", out[1] == "True", int(out[2]), int(out[3]), int(out[4])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_thresholds_are_in_effect_exactly_when_it_says_so():
    """Read glibc's behaviour back (mallinfo2): with the thresholds, a 24 MB block comes from the heap and stays
    there after free; without them (``COLORGAN_KEEP_FREED_MEMORY=0``), it is an mmap of its own."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    size = 24 * 2**20
    applied, again, mmapped, grown, kept = _mallinfo()
    assert applied and again
    # served from the heap (which may already hold a little free room at its top: a MiB of slack)
    assert mmapped == 0 and grown >= size - 2**20
    assert kept >= size - 2**20  # and not trimmed off when freed: the next batch reuses it
    applied, again, mmapped, grown, kept = _mallinfo(COLORGAN_KEEP_FREED_MEMORY="0")
    assert not applied and not again
    assert mmapped == 1 and grown < size and kept < size  # glibc's defaults: a fresh mapping, gone on free
