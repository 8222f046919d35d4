"""With Redis, idle live pages stay connected: redis-py's socket timeout must not race channels-redis's reads.

channels-redis reads each consumer's channel with a 5 s blocking BZPOPMIN; redis-py 8's default socket
timeout was 5 s too, so an idle page's read timed out now and then, the consumer raised TimeoutError and
daphne closed the socket with 1011 (20 idle clients for 60 s: 11 closed). Here idle websockets are held
open on a real daphne with the real Redis channel layer for several times that timeout, then each still
gets a message.
"""

import asyncio
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from bots import live
from bots.tests.factories import make_user
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.backends,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL, as CI does)"),
]

CLIENTS = 20
IDLE_SECONDS = 30  # six times the 5 s blocking read


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def daphne(tmp_path):
    port = free_port()
    log = tmp_path / "daphne.log"
    process = subprocess.Popen([str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port),
                                "tradingbot.asgi:application"], cwd=PROJECT_DIR, env=env_for_test_database(),
                               stdout=subprocess.DEVNULL, stderr=log.open("ab"), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/accounts/login/", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    yield url, log
    process.terminate()
    process.wait(timeout=20)


def test_idle_websockets_stay_open_for_longer_than_the_socket_timeout(daphne):
    import websockets

    url, log = daphne
    user = make_user()
    client = Client()
    client.force_login(user)
    headers = {"Cookie": f"sessionid={client.cookies['sessionid'].value}", "Origin": url}
    ws_url = url.replace("http://", "ws://") + "/ws/live/"

    async def scenario():
        sockets = [await websockets.connect(ws_url, additional_headers=headers) for _ in range(CLIENTS)]
        closed = []

        async def idle(ws):
            try:
                await asyncio.wait_for(ws.recv(), timeout=IDLE_SECONDS)
                return "a message nobody sent"
            except TimeoutError:
                return "open"
            except websockets.ConnectionClosed as exc:
                closed.append(exc.rcvd.code if exc.rcvd else None)
                return "closed"

        try:
            states = await asyncio.gather(*(idle(ws) for ws in sockets))
            # Each socket that stayed open still gets what the worker publishes.
            layer = get_channel_layer()
            await layer.group_send(live.user_group(user.pk), {"type": "live.update", "html": "<p>still here</p>"})
            received = await asyncio.gather(*(asyncio.wait_for(ws.recv(), timeout=10) for ws in sockets
                                              if ws.state.name == "OPEN"), return_exceptions=True)
        finally:
            for ws in sockets:
                await ws.close()
        return states, closed, received

    states, closed, received = asyncio.run(scenario())
    assert states.count("open") == CLIENTS, f"closed: {closed}; daphne log: {log.read_text()[-2000:]}"
    assert received == ["<p>still here</p>"] * CLIENTS
