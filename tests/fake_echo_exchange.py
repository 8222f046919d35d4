"""A fake exchange (or a misbehaving proxy) on 127.0.0.1 that echoes every signed request back in its error text.

    echo = EchoExchange().start()         # or the `echo_exchange` fixture
    settings.CCXT_URL_OVERRIDES = {"okx": echo.url, "luno": echo.url, ...}
    echo.requests                         # [(method, path with query, headers dict, body)]

Public endpoints that ccxt needs before it sends a signed request answer with an empty, valid market list
(Binance exchangeInfo, Kraken Assets/AssetPairs); everything else answers 401 with a JSON body that repeats
the request: method, path and query, every header (API keys, OKX passphrase, Luno's Basic key:secret) and the
body, so whatever shows, stores or logs an exchange's error text would carry the keys if nothing redacted them.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PUBLIC = {
    "/api/v3/exchangeInfo": {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [],
                             "symbols": []},
    "/0/public/Assets": {"error": [], "result": {}},
    "/0/public/AssetPairs": {"error": [], "result": {}},
}


class EchoExchange:
    def __init__(self):
        self.requests: list[tuple[str, str, dict, str]] = []
        self.server = None
        self.thread = None

    def start(self) -> "EchoExchange":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="echo-exchange", daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
            self.server = None

    def answer(self, method: str, path: str, headers: dict, body: str) -> tuple[int, dict]:
        self.requests.append((method, path, headers, body))
        public = PUBLIC.get(path.split("?", 1)[0])
        if public is not None:
            return 200, public
        echoed = f"rejected {method} {path} headers={json.dumps(headers)} body={body!r}"
        # "msg" (Binance), "message" and "error" (most others), "code" as OKX and Binance send one.
        return 401, {"code": -2015, "msg": echoed, "message": echoed, "error": [f"EAPI:Invalid key {echoed}"]}


def _handler_for(fake: EchoExchange):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            status, payload = fake.answer(self.command, self.path, dict(self.headers), body)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_DELETE = do_PUT = _serve

    return Handler


@pytest.fixture
def echo_exchange():
    fake = EchoExchange().start()
    try:
        yield fake
    finally:
        fake.stop()
