"""A self-check on SIGUSR1: one log line with the process's asyncio tasks, descriptors and memory.

The soak test reads it to prove that nothing grows over time; an operator can use it
the same way (`kill -USR1 PID`) on a daemon that seems to leak.
"""

import asyncio
import os
import signal

import structlog

log = structlog.stdlib.get_logger(__name__)

SIGNAL = signal.SIGUSR1


def figures() -> dict[str, int]:
    """The running loop's task count, open file descriptors and resident memory in bytes.

    A figure the platform cannot give (no /proc) is -1.
    """
    return {"tasks": len(asyncio.all_tasks()), "open_fds": _open_fds(), "rss_bytes": _rss()}


def _open_fds() -> int:
    """Count this process's open file descriptors, the one that lists them excluded."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1
    except OSError:
        return -1


def _rss() -> int:
    """Return this process's resident memory now (not its peak) in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            pages = int(stream.read().split()[1])
    except (OSError, ValueError, IndexError):
        return -1
    return pages * os.sysconf("SC_PAGE_SIZE")


def log_figures() -> None:
    """Log the figures at info level, as event "self check"."""
    log.info("self check", **figures())


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Log the figures whenever the process receives SIGUSR1."""
    loop.add_signal_handler(SIGNAL, log_figures)
