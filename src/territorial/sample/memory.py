"""Keep freed memory inside the process while a big sample is generated.

Generating a million accounts allocates and frees many short-lived arrays of tens of
megabytes. By default glibc returns such blocks to the operating system at once and
Arrow's mimalloc purges its free pages quickly, so every new array page-faults fresh
memory again; on virtual machines (and this project's 2-core CI boxes) that kernel
time was five times the actual compute (67 s system vs 13 s user for 1M accounts).
Raising glibc's mmap/trim thresholds and letting Arrow allocate through glibc makes
the process reuse its own pages instead (14 s system for the same run).

This changes process-wide allocator settings, so only command-line entry points call
it; the library never does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

import pyarrow as pa

logger = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def retain_freed_memory() -> bool:
    """Tune glibc malloc and Arrow's pool to reuse freed memory; True when applied.

    Blocks up to 32 MiB (glibc's maximum) come from the heap instead of fresh
    mappings, the heap is only trimmed when 2 GiB are free at its top, and Arrow
    buffers use the same (system) allocator. A no-op on non-glibc platforms.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = all(
        mallopt(option, value) == 1
        for option, value in (
            (_M_MMAP_THRESHOLD, 32 * 1024 * 1024),
            (_M_TRIM_THRESHOLD, 2**31 - 1),
            (_M_TOP_PAD, 256 * 1024 * 1024),
        )
    )
    if applied:
        pa.set_memory_pool(pa.system_memory_pool())
    logger.debug("malloc tuning for large samples %s", "applied" if applied else "refused")
    return applied
