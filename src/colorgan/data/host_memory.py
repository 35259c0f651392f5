"""Keep freed host memory for reuse instead of handing it back to the operating system after every batch.

A colorgan process allocates and frees tensors of a few megabytes, over and over: each batch of photos, its LAB
conversion, a CPU model's activations, the bands of a 12-megapixel photo. glibc's ``malloc`` serves such sizes with
fresh ``mmap`` pages (or trims them off the heap when freed), so every batch pays again for page faults and for
the kernel zeroing those pages (on a 2-core CPU, 120 to 550 page faults per batch of the cached data path).
:func:`keep_freed_memory` raises glibc's two thresholds (what PyTorch's CPU performance guide gets by preloading
jemalloc or tcmalloc, done here without anything to install): blocks up to 32 MiB come from the heap, and up to
1 GiB of freed heap stays in the process for the next batch.

The command-line entry points call it first thing; worker processes forked later inherit it. It does nothing
where the C library is not glibc (or ``malloc`` is replaced by a preloaded allocator), and
``COLORGAN_KEEP_FREED_MEMORY=0`` turns it off.

A long-lived process that then sits idle (the page between jobs) calls :func:`release_freed_memory` after a job:
what a 12-megapixel photo needed would otherwise stay in the process, up to the 1 GiB kept for reuse.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import platform

log = logging.getLogger(__name__)

# glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 2**30

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` to 32 MiB and ``M_TRIM_THRESHOLD`` to 1 GiB for this process (once).

    Returns whether the settings are in effect.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("COLORGAN_KEEP_FREED_MEMORY", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not _applied:
        log.debug("mallopt refused the thresholds; glibc's defaults stay")
    return _applied


def release_freed_memory() -> bool:
    """Hand the memory freed so far back to the operating system (glibc's ``malloc_trim(0)``), after a garbage
    collection so that objects kept only by reference cycles are freed first.

    Returns whether anything was given back (``False`` where the C library is not glibc).
    """
    gc.collect()
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes, malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return bool(malloc_trim(0))
