"""`manage.py worker`: the bot dispatcher in this process, and a django-q2 cluster beside it for the task queue.

Why not plain `manage.py qcluster`: its SIGTERM handler stops the cluster from inside the signal handler,
which deadlocks when the signal reaches the whole process group (the sentinel dies of the same signal while
holding the lock of the event the handler then sets; `make run`, systemd and `docker compose stop` all send
it so); a SIGKILLed parent leaves its worker processes running; and a killed cluster takes the scheduled
dispatcher round with it, so its bots wait for the next round, up to a minute and a half later. Here:

1. SIGTERM and SIGINT only ask to stop (bots.shutdown). The dispatcher finishes the bot it is ticking; then
   this process stops the cluster from ordinary code and waits for it, at most STOP_GRACE seconds, then
   kills what is left.
2. The sentinel ignores SIGTERM and SIGINT (this process decides when the cluster stops) and stops its pool
   when this process is gone. Its workers, pusher and monitor get SIGTERM from the kernel when the sentinel
   is gone (parent-death signal): idle ones exit at once, a busy worker after its task.
3. The dispatcher runs here continuously, one bot at a time (bots.scheduler.dispatch); the scheduled
   dispatcher task, when one of this cluster's workers runs it, returns at once.
"""

import logging
import os
import signal
import threading
import time
import uuid

from django import db
from django.dispatch import receiver
from django_q.cluster import Sentinel, get_mp_context
from django_q.signals import post_execute_in_worker, pre_execute

from bots import scheduler, shutdown

log = logging.getLogger(__name__)

# How long a stopping cluster may take to finish the tasks its workers run before they are killed.
STOP_GRACE = 20.0


class _StopWhenOrphaned:
    """The sentinel's stop event, which also counts as set once the sentinel's parent (this command's main
    process) is gone; the sentinel's guard loop waits on it every cycle, so it then stops its pool."""

    def __init__(self, event, parent_pid: int):
        self._event = event
        self._parent_pid = parent_pid

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._event.wait(timeout):
            return True
        if os.getppid() != self._parent_pid:
            log.warning("the worker's main process is gone: stopping its cluster")
            self._event.set()
            return True
        return False


def _in_cluster_child() -> None:
    """In every process the sentinel forks (workers, pusher, monitor), right after the fork."""
    shutdown.watch_parent()


class ClusterSentinel(Sentinel):
    """django-q2's sentinel, deaf to SIGTERM and SIGINT, stopping by itself when its parent dies."""

    def start(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.stop_event = _StopWhenOrphaned(self.stop_event, self.parent_pid)
        os.register_at_fork(after_in_child=_in_cluster_child)
        super().start()


@receiver(pre_execute)
def _task_started(sender, **kwargs):
    shutdown.set_busy(True)


@receiver(post_execute_in_worker)
def _task_finished(sender, **kwargs):
    shutdown.set_busy(False)
    if shutdown.orphaned():
        os._exit(0)  # the sentinel that would have sent the next task (or the stop) is gone


class Cluster:
    """Starts a ClusterSentinel in a child process and stops it without any signal handler's help."""

    def __init__(self):
        self.cluster_id = uuid.uuid4()
        self.sentinel = None
        self.stop_event = None

    def start(self) -> bool:
        """Fork the sentinel and wait until it runs its pool; False if a stop was asked for meanwhile."""
        context = get_mp_context()
        self.stop_event, start_event = context.Event(), context.Event()
        db.connections.close_all()  # the sentinel must not share this process's database connections
        self.sentinel = context.Process(target=ClusterSentinel, name=f"Sentinel-{self.cluster_id.hex[:8]}",
                                        args=(self.stop_event, start_event, self.cluster_id, None, None))
        self.sentinel.start()
        while not start_event.is_set():
            if not self.sentinel.is_alive():
                raise RuntimeError(f"the task cluster did not start (exit code {self.sentinel.exitcode})")
            if shutdown.requested():
                return False
            time.sleep(0.1)
        return True

    def alive(self) -> bool:
        return self.sentinel is not None and self.sentinel.is_alive()

    def stop(self, grace: float = STOP_GRACE) -> None:
        if not self.alive():
            return
        # Setting the event takes its lock; a sentinel that died holding it would make that wait forever, so
        # it is set from a thread this process does not wait on beyond the grace period.
        threading.Thread(target=self.stop_event.set, name="cluster-stop", daemon=True).start()
        self.sentinel.join(grace)
        if self.sentinel.is_alive():
            log.error("the task cluster did not stop within %s s: killing it (its workers follow)", grace)
            self.sentinel.kill()
            self.sentinel.join(5)


def run() -> int:
    """The worker's main loop. Returns the exit status: 0 after a stop request, 1 if the cluster died."""
    shutdown.install_handlers()
    scheduler.dispatch_in_this_process()  # before the fork: the cluster's workers inherit it
    cluster = Cluster()
    try:
        if cluster.start():
            log.info("worker %s: dispatching bots, task cluster running", os.getpid())
            scheduler.dispatch(duration=None, keep_going=cluster.alive)
    finally:
        cluster.stop()
    if shutdown.requested():
        log.info("worker %s stopped", os.getpid())
        return 0
    log.error("worker %s: the task cluster died; exiting so that the supervisor restarts the worker", os.getpid())
    return 1
