"""A worker process's stop request and parent-death check, read by the dispatcher between bots.

SIGTERM and SIGINT only set a flag here (`install_handlers`): work never happens inside a signal handler,
so a signal cannot land in the middle of a lock the handler needs (django-q2's own handler deadlocks that
way when SIGTERM reaches the whole process group). The dispatcher finishes the bot it is ticking, sees
`requested()`, and returns.

A process of `manage.py worker`'s cluster also knows its parent (`watch_parent`): on Linux the kernel sends
it SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG), and `orphaned()` tells it to stop for good.
"""

import logging
import os
import signal
import sys

log = logging.getLogger(__name__)

_requested = False
reason = ""  # why, for the log line the dispatcher writes when it stops
_parent_pid: int | None = None  # set by watch_parent(): the process whose death ends this one
_busy = False  # a django-q2 task is running in this process (see bots.worker)


def requested() -> bool:
    """Has this process been asked to stop (SIGTERM, SIGINT, its parent's death)?"""
    return _requested or orphaned()


def request(why: str = "asked to stop") -> None:
    """Ask this process to stop after the bot it is ticking (safe inside a signal handler: no lock, no I/O)."""
    global _requested, reason
    if not _requested:
        reason = why
    _requested = True


def reset() -> None:
    """Forget a stop request (a test that runs the dispatcher again in the same process)."""
    global _requested, reason
    _requested, reason = False, ""


def orphaned() -> bool:
    """The parent this process was started under has died (only for processes that `watch_parent`)."""
    return _parent_pid is not None and os.getppid() != _parent_pid


def set_busy(busy: bool) -> None:
    global _busy
    _busy = busy


def _on_signal(signum, frame) -> None:
    request(f"got {signal.Signals(signum).name}")
    if orphaned() and not _busy:
        # Nothing of ours is running and nobody is left to send the usual stop message: leave now.
        # os._exit, because a normal exit would wait for queues whose other end died with the parent.
        os._exit(0)


def install_handlers(*signums: int) -> None:
    """SIGTERM/SIGINT (or the given signals) request a stop instead of killing the process."""
    for signum in signums or (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)


_PR_SET_PDEATHSIG = 1


def watch_parent() -> None:
    """Stop when the parent process dies: the kernel sends SIGTERM then (Linux), which requests a stop
    and ends an idle process at once; elsewhere `orphaned()` is polled by the dispatcher only."""
    global _parent_pid
    _parent_pid = os.getppid()
    install_handlers(signal.SIGTERM)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
        except (OSError, AttributeError):
            log.warning("no prctl here: an orphaned worker process stops only between tasks")
    if orphaned():  # the parent died before the kernel was told to watch it
        _on_signal(signal.SIGTERM, None)
