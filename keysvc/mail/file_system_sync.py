"""Linux's ``syncfs(2)``, which Python's `os` module does not offer: one call that makes
everything written to a file system durable, where ``fsync`` does one file at a time."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable


def _load_syncfs() -> Callable[[int], None] | None:
    try:
        # ctypes releases the GIL for the call, as os.fsync does.
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # no C library to load, or one without syncfs
        return None
    function.argtypes = (ctypes.c_int,)
    function.restype = ctypes.c_int

    def syncfs(descriptor: int) -> None:
        """Writes out the file system holding `descriptor` and waits for it; raises
        OSError, also for an earlier write-back that failed (Linux 5.8 on)."""
        if function(descriptor) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))

    return syncfs


sync_file_system: Callable[[int], None] | None = _load_syncfs()
"""``syncfs(descriptor)``, or None where the C library has no such call (not Linux)."""
