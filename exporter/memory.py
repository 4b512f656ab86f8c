"""Hands the C heap's free pages back to the system, where the C library can (glibc).

A render allocates tens of megabytes at 10,000 VPS and frees them when done;
glibc keeps freed memory in its heaps for later, and refresh jobs that allocate
meanwhile fragment them, so the process keeps pages it no longer uses. After
each render `release_free_memory` asks glibc to return every free page
(`malloc_trim(0)`, which also releases free pages inside a heap). Elsewhere
(musl, macOS) there is no such call and nothing is done.
"""

import ctypes
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim from the C library the interpreter runs on, if it has one."""
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return the heaps' free pages to the system; False where the C library cannot."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
