"""Multiprocess mode of prometheus_client for this process: where the shared files live, what names this
process's files, and the clean-up of its live gauges when it exits.

Imported by metrics.instruments before prometheus_client itself (the client reads PROMETHEUS_MULTIPROC_DIR once,
at import). Web and worker processes, on one machine or in containers sharing the folder, write one file per
metric type and process; the process serving /metrics adds them up.
"""

import atexit
import glob
import logging
import os
import re
import socket
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def _default_dir() -> Path:
    data_dir = os.environ.get("DATA_DIR") or Path(__file__).resolve().parent.parent / "var"
    return Path(data_dir).resolve() / "prometheus"


def configure() -> Path:
    """The folder (PROMETHEUS_MULTIPROC_DIR, else DATA_DIR/prometheus), created, and set in the environment so
    that the client and the processes this one starts use it."""
    folder = Path(os.environ.get(ENV) or _default_dir())
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        # Metrics must never stop a worker: count in a private folder (this process's figures only).
        folder = Path(tempfile.mkdtemp(prefix="tradingbot-prometheus-"))
        logging.getLogger(__name__).warning("%s is not writable: metrics go to %s", ENV, folder)
    os.environ[ENV] = str(folder)
    return folder


# Host and pid: containers sharing the folder all have a pid 1. No underscore (the client splits file names
# on it).
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:40] or "host"


def identifier() -> str:
    return f"{_HOST}-{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(folder: Path) -> int:
    """Remove the live gauges (websocket clients) left by processes of this host that died without their exit
    hook (killed); their counters stay (and go on counting if the pid comes back), as a counter should."""
    removed = 0
    for path in glob.glob(str(folder / f"gauge_live*_{_HOST}-*.db")):
        match = re.search(rf"_{re.escape(_HOST)}-(\d+)\.db$", path)
        # Our own pid too: a container restarted with the same host name and pid 1 must not count the last
        # one's open websockets (this runs before this process opens any file).
        if match and (int(match.group(1)) == os.getpid() or not _pid_alive(int(match.group(1)))):
            try:
                os.remove(path)
                removed += 1
            except OSError:
                pass
    return removed


def register_exit_cleanup() -> None:
    def cleanup():
        try:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(identifier())
        except Exception:  # the interpreter is going away: nothing to report to
            pass

    atexit.register(cleanup)
