"""Start-up time of a management command: `manage.py check` (Django setup, every app, the URLconf and the system
checks: what each command pays before doing its work) against a reference measured in the same run, a bare
`django.setup()` with minimal settings (contenttypes and auth only). Target: under 0.8 s.

Each is run ROUNDS times as a fresh process; min and median of the wall time and of the CPU time (user + system
of the child, which a shared machine inflates less) are printed. Also printed: which of the heavy libraries are
still imported at start-up (ccxt, numpy, pandas, pandas-ta, numba, python-telegram-bot should not be).
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "7"))
TARGET_SECONDS = 0.8
ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("ccxt", "numpy", "pandas", "pandas_ta", "numba", "telegram", "talib", "openai")
MINIMAL_SETTINGS = """
SECRET_KEY = "bench"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
"""
LOADED = f"""
import sys, django
django.setup()
from django.conf import settings
from django.urls import get_resolver
get_resolver().url_patterns
print(" ".join(m for m in {HEAVY!r} if m in sys.modules) or "none")
"""


def _run(argv: list[str], env: dict) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _measure(label: str, argv: list[str], env: dict) -> tuple[float, float]:
    _run(argv, env)  # warm the file cache and the .pyc files
    walls, cpus = zip(*(_run(argv, env) for _ in range(ROUNDS)), strict=True)
    print(f"  {label:<44} wall min {min(walls):.3f} s  median {statistics.median(walls):.3f} s   "
          f"cpu min {min(cpus):.3f} s  median {statistics.median(cpus):.3f} s")
    return min(walls), min(cpus)


def main() -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingbot.settings", "PYTHONDONTWRITEBYTECODE": "0"}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "bench_minimal_settings.py").write_text(MINIMAL_SETTINGS)
        minimal = {**env, "DJANGO_SETTINGS_MODULE": "bench_minimal_settings", "PYTHONPATH": folder}
        print(f"{ROUNDS} fresh processes each (after one warm-up):")
        ref_wall, ref_cpu = _measure('reference: django.setup(), minimal settings',
                                     [sys.executable, "-c", "import django; django.setup()"], minimal)
        wall, cpu = _measure("manage.py check", [sys.executable, "manage.py", "check"], env)
        _measure("manage.py help", [sys.executable, "manage.py", "help"], env)
    loaded = subprocess.run([sys.executable, "-c", LOADED], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True).stdout.strip()
    print(f"  manage.py check / reference: wall {wall / ref_wall:.2f}x, cpu {cpu / ref_cpu:.2f}x")
    print(f"  heavy libraries imported at start-up (setup + URLconf): {loaded}")
    ok = wall < TARGET_SECONDS
    print(f"  target: manage.py check under {TARGET_SECONDS} s (min wall): {'met' if ok else 'NOT met'} ({wall:.3f} s)")
    return 0 if ok and loaded == "none" else 1


if __name__ == "__main__":
    sys.exit(main())
