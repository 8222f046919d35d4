"""`make run` (and so `make demo`): Ctrl-C stops the web server and the worker once, cleanly, within seconds.

The recipe used to `trap 'kill 0' INT TERM`: `kill 0` signals the shell itself too, the trap ran again and
again until bash crashed, and django-q2's qcluster, hit in its whole process group, could deadlock. Here
make runs in a process group of its own, as a terminal's foreground job, on free ports and the test's
database; the signal goes to the whole group, as the terminal (Ctrl-C) or systemd (stop) sends it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.process_env import PROJECT_DIR, env_for_test_database
from tests.test_worker_life import group, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("make") is None,
                       reason="needs make and /proc"),
]

STOPS_WITHIN = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM to the group"])
def test_make_run_stops_web_and_worker_once(tmp_path, signum):
    port = free_port()
    log = tmp_path / "make-run.log"
    make = subprocess.Popen(["make", "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}"],
                            cwd=PROJECT_DIR, env=env_for_test_database(), start_new_session=True,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/accounts/login/"
        assert wait_until(lambda: answers(url) and b"dispatching bots" in log.read_bytes(), 90), \
            log.read_text()[-3000:]
        running = group(make.pid)
        assert len(running) >= 6, running  # make, its shell, daphne, the worker and its cluster
        os.killpg(make.pid, signum)
        asked = time.monotonic()
        make.wait(timeout=STOPS_WITHIN + 20)
        assert wait_until(lambda: not group(make.pid), 5), group(make.pid)
        took = time.monotonic() - asked
    finally:
        for pid, _ in group(make.pid):
            os.kill(pid, signal.SIGKILL)
        make.wait(timeout=10)
    output = log.read_text()
    print(f"make run, {signal.Signals(signum).name} to its group: web and worker gone after {took:.1f} s")
    assert took < STOPS_WITHIN, output[-3000:]
    assert "Segmentation fault" not in output and "core dumped" not in output
    assert output.count("dispatcher stopped") == 1, output[-3000:]
    assert not answers(url)
