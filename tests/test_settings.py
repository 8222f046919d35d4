"""Production settings: refuse to start without the keys; `check --deploy` is clean with them."""

import os
import subprocess

import pytest

from tests.process_env import PROJECT_DIR, PYTHON

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!kq2$wz9@p4#v8&m3^n6*r1(t5)y0-u_i=o+a~s`d]f[g{h}j|k;l:z'c\"b<n>m,.q?",
    "ENCRYPTION_KEY": "S3m2hTZp3QeN0b7m0pQw4kJ6dC2v9yX1aB5cD8eF0gE=",
    "ALLOWED_HOSTS": "trade.example.org",
}


def run_manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ENCRYPTION_KEY", "ALLOWED_HOSTS")}
    env.update(env_overrides)
    return subprocess.run([PYTHON, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_key(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run_manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "DEBUG is off, so these must be set in the environment" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


def test_production_check_deploy_is_clean():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_bad_encryption_key_is_refused_clearly():
    from django.core.exceptions import ImproperlyConfigured

    from exchanges.encryption import parse_key

    with pytest.raises(ImproperlyConfigured, match="must be 32 bytes"):
        parse_key("dG9vLXNob3J0")
    with pytest.raises(ImproperlyConfigured, match="urlsafe base64"):
        parse_key("not base64 at all!!")


def test_data_folder_and_sqlite_file_are_private(tmp_path):
    """Issue 9, item 6: var/ and the SQLite file were created readable by every local user (umask 022)."""
    import stat

    data_dir = tmp_path / "fresh-var"
    env = {k: v for k, v in os.environ.items() if k not in ("SQLITE_PATH", "DATABASE_URL", "CACHE_DIR", "DATA_DIR")}
    env["DATA_DIR"] = str(data_dir)
    result = subprocess.run(["sh", "-c", f"umask 022 && exec {PYTHON} manage.py migrate --noinput"], cwd=PROJECT_DIR,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(data_dir) == 0o700
    assert mode(data_dir / "db.sqlite3") == 0o600
    assert mode(data_dir / "local-secrets.json") == 0o600
    for companion in data_dir.glob("db.sqlite3-*"):
        assert mode(companion) & 0o077 == 0, companion
    # An existing, too-open folder from an older version is tightened on start.
    data_dir.chmod(0o755)
    (data_dir / "db.sqlite3").chmod(0o644)
    result = subprocess.run([PYTHON, "manage.py", "check"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert mode(data_dir) == 0o700 and mode(data_dir / "db.sqlite3") == 0o600
