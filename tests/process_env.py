"""The environment for a process a test starts (worker, web server) so it opens the test's own database."""

import os
import sys
from pathlib import Path

from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def env_for_test_database(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        env["DATABASE_URL"] = f"postgres://{user}{password}@{host}/{db['NAME']}"
    env.update(extra)
    return env
