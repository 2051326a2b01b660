"""Worker processes that never outlive the run that started them.

The maps, portraits and the build's workbook are written by forked workers on machines with two cores
or more. A run killed mid-way (Ctrl-C twice, a closed terminal, ``kill -9``) must not leave workers
that finish a file after the next run has cleaned up: every worker asks the kernel to kill it with
its parent (Linux ``PR_SET_PDEATHSIG``; elsewhere the pool's own shutdown applies).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from concurrent.futures import ProcessPoolExecutor


def die_with_parent() -> None:
    """Initializer of a worker: killed (SIGKILL) when its parent dies; exits at once if it already has."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:     # the parent died before the call
        os._exit(1)


def fork_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of forked workers (they inherit the parent's computed state) that die with the parent."""
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=die_with_parent)


def fork_mp_pool(workers: int):
    """The same for :class:`multiprocessing.pool.Pool` users."""
    return mp.get_context("fork").Pool(workers, initializer=die_with_parent)
