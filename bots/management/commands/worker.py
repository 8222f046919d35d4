"""manage.py worker: run the bot dispatcher and the task cluster until SIGTERM or Ctrl-C (see bots.worker)."""

import logging
import os
import sys

from django.core.management.base import BaseCommand
from django.db import connections


class Command(BaseCommand):
    help = ("Run the worker: ticks the bots and runs the queued tasks (backtests). SIGTERM or Ctrl-C finishes "
            "the bot being ticked and stops within seconds.")

    def handle(self, *args, **options):
        from bots.worker import run

        status = run()
        # Everything is finished and the cluster has stopped: leave without the interpreter's teardown, which
        # takes seconds with pandas, numba and ccxt loaded (a supervisor counts them against its grace period).
        connections.close_all()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
