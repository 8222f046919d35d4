"""Test-wide setup: keys for encryption come from settings (generated locally), numba caches in var/."""

import os

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "var", "numba-cache"))
# Password hashing cost is not what the tests test; servers a test starts inherit this too.
os.environ.setdefault("FAST_PASSWORD_HASHING", "1")
