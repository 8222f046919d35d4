"""Fault injection for the crash-safety test: SIGKILL this process at a named point inside a tick.

Inactive unless the environment variable BOTS_CRASH_AT names the point (as the test's subprocess does).
"""

import os
import signal

ENV = "BOTS_CRASH_AT"

# The points a tick passes, in order (the test crashes at each in turn).
POINTS = (
    "tick_claimed",
    "after_reconcile",
    "before_order_recorded",
    "before_order_sent",
    "after_order_sent",
    "after_order_recorded",
    "before_bracket_sent",
    "after_bracket_sent",
    "before_release",
)


def crashpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
