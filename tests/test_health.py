"""/health both ways: 503 naming the worker when none runs, 200 once a real django-q2 cluster is up."""

import io
import signal
import subprocess
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database


@pytest.mark.django_db
def test_health_is_503_and_names_the_worker_when_none_runs(client):
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["worker"]
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["channel_layer"] == {"ok": True}
    assert "qcluster" in body["checks"]["worker"]["detail"]
    with pytest.raises(CommandError, match="no worker heartbeat"):
        call_command("worker_alive")


@pytest.mark.django_db(transaction=True)
def test_health_is_200_with_a_running_worker(client):
    worker = subprocess.Popen(
        [PYTHON, "manage.py", "qcluster"], cwd=PROJECT_DIR, env=env_for_test_database(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        response = client.get("/health")
        while response.status_code != 200 and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
            time.sleep(0.5)
            response = client.get("/health")
        assert response.status_code == 200, response.json()
        out = io.StringIO()
        call_command("worker_alive", stdout=out)  # the container healthcheck agrees
        assert "worker alive" in out.getvalue()
        assert response.json() == {
            "status": "ok", "down": [],
            "checks": {"database": {"ok": True}, "channel_layer": {"ok": True}, "worker": {"ok": True}},
        }
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.django_db
def test_health_reports_database_down(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("database is down")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health")
    assert response.status_code == 503 and "database" in response.json()["down"]
