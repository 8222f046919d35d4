"""Every management command pays Django's start-up: the heavy libraries (ccxt, numpy, pandas, pandas-ta with
numba, Optuna) load only where they are used, never while the apps, models, admin and URLs load."""

import subprocess

from tests.process_env import PROJECT_DIR, PYTHON

HEAVY = ("ccxt", "numpy", "pandas", "numba", "pandas_ta", "optuna", "telegram")

PROBE = """
import sys
import django
from django.urls import get_resolver
django.setup()
import django.contrib.admin
get_resolver().url_patterns  # every app's urls and views
from django.contrib import admin
admin.autodiscover()
print(",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def test_setup_urls_and_admin_import_no_heavy_library():
    env = {"DJANGO_SETTINGS_MODULE": "tradingbot.settings", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([PYTHON, "-c", PROBE.format(heavy=HEAVY)], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"loaded at start-up: {done.stdout.strip()}"
