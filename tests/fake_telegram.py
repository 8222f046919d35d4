"""A fake Telegram Bot API server on 127.0.0.1 for tests, driven by the real python-telegram-bot client.

    fake = FakeTelegram().start()         # or the `fake_telegram` fixture (TELEGRAM_* settings pointed at it)
    fake.url                              # TELEGRAM_API_BASE_URL; calls arrive as POST /bot<token>/<method>
    fake.token, fake.username
    update = fake.push_message(user_id, "/status")            # handed out by getUpdates (long polling)...
    fake.message_update(user_id, "/status")                   # ...or just built, for the webhook view
    fake.push_callback(user_id, "pc:c:42", message_id=7)
    fake.inject("429" | "403" | "timeout" | "500", method="sendMessage", times=1, retry_after=1)
    fake.sent                             # the decoded parameters of every sendMessage answered with ok
    fake.calls                            # [(method, params)] of every call, faults included
    fake.webhook                          # the parameters of the last setWebhook (None after deleteWebhook)
    fake.wait_for(lambda: fake.sent, timeout=5)
    fake.stop()

It serves HTTP from a thread, so a process the test starts (`manage.py telegram`) can talk to it while the
test inspects it. Answers follow the Bot API's documented shapes: {"ok": true, "result": ...}, and errors
{"ok": false, "error_code": ..., "description": ..., "parameters": {"retry_after": ...}}.
"""

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest

FAULTS = ("429", "403", "timeout", "500")
# Parameters python-telegram-bot sends as plain strings; every other value is JSON-encoded.
TEXT_PARAMETERS = {"text", "url", "secret_token", "callback_query_id", "description", "query"}


class FakeTelegram:
    def __init__(self, token: str = "123456789:AAFakeTokenForTests-abcdefghijklmnopqrs",
                 username: str = "tradingbot_test_bot"):
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.timeout_delay = 6.0  # the "timeout" fault answers this late (longer than the client waits)
        self.max_hold = 1.0  # getUpdates holds an empty answer at most this long (long polling, kept short)
        self.lock = threading.RLock()
        self.arrived = threading.Condition(self.lock)
        self.updates: list[dict] = []
        self.calls: list[tuple[str, dict]] = []
        self.sent: list[dict] = []
        self.edits: list[dict] = []
        self.answers: list[dict] = []
        self.webhook: dict | None = None
        self.faults: list[dict] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self.server = None
        self.thread = None

    # --- control, from the test ---

    def start(self) -> "FakeTelegram":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="fake-telegram", daemon=True)
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

    def inject(self, fault: str, method: str = "sendMessage", times: int = 1, retry_after: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        with self.lock:
            self.faults.append({"fault": fault, "method": method, "times": times, "retry_after": retry_after})

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def user(self, user_id: int, username: str = "", language_code: str = "en") -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}", "language_code": language_code}
        if username:
            user["username"] = username
        return user

    def message_update(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private",
                       username: str = "", language_code: str = "en") -> dict:
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User {user_id}"
        else:
            chat["title"] = "A group"
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": self.user(user_id, username, language_code), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._update_ids), "message": message}

    def callback_update(self, user_id: int, data: str, *, message_id: int = 1, chat_id: int | None = None,
                        message_text: str = "Sell 0.05 BTC?") -> dict:
        chat_id = user_id if chat_id is None else chat_id
        message = {"message_id": message_id, "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private" if chat_id == user_id else "group"},
                   "from": self.bot_user(), "text": message_text}
        query = {"id": f"cq{next(self._update_ids)}", "from": self.user(user_id), "chat_instance": "ci-1",
                 "message": message, "data": data}
        return {"update_id": next(self._update_ids), "callback_query": query}

    def push(self, update: dict) -> dict:
        with self.arrived:
            self.updates.append(update)
            self.arrived.notify_all()
        return update

    def push_message(self, user_id: int, text: str, **kwargs) -> dict:
        return self.push(self.message_update(user_id, text, **kwargs))

    def push_callback(self, user_id: int, data: str, **kwargs) -> dict:
        return self.push(self.callback_update(user_id, data, **kwargs))

    def sent_to(self, chat_id: int) -> list[dict]:
        with self.lock:
            return [m for m in self.sent if m.get("chat_id") == chat_id]

    def calls_of(self, method: str) -> list[dict]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"the fake Telegram server did not see it within {timeout} s; calls: {self.calls}")

    def bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Tradingbot", "username": self.username,
                "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}

    # --- the API ---

    def _take_fault(self, method: str) -> dict | None:
        with self.lock:
            for entry in self.faults:
                if entry["method"] in (method, "*") and entry["times"] > 0:
                    entry["times"] -= 1
                    if entry["times"] == 0:
                        self.faults.remove(entry)
                    return entry
        return None

    def handle(self, token: str, method: str, params: dict) -> tuple[int, dict, float]:
        """(status, body, seconds to wait before answering)."""
        with self.lock:
            self.calls.append((method, params))
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, 0
        fault = self._take_fault(method)
        if fault is not None:
            kind = fault["fault"]
            if kind == "429":
                return 429, {"ok": False, "error_code": 429,
                             "description": f"Too Many Requests: retry after {fault['retry_after']}",
                             "parameters": {"retry_after": fault["retry_after"]}}, 0
            if kind == "403":
                return 403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, 0
            if kind == "500":
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, 0
            return 200, {"ok": True, "result": True}, self.timeout_delay  # "timeout": answers too late
        answer = getattr(self, f"api_{method}", None)
        if answer is None:
            return 404, {"ok": False, "error_code": 404, "description": f"Not Found: method {method} not served"}, 0
        return 200, {"ok": True, "result": answer(params)}, 0

    def api_getMe(self, params):
        return self.bot_user()

    def api_getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        hold = min(float(params.get("timeout") or 0), self.max_hold)
        deadline = time.monotonic() + hold
        with self.arrived:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                self.arrived.wait(max(0.0, deadline - time.monotonic()))
            limit = int(params.get("limit") or 100)
            return list(self.updates[:limit])

    def _message(self, params, text: str) -> dict:
        chat_id = params.get("chat_id")
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "User"}, "from": self.bot_user(),
                "text": text}

    def api_sendMessage(self, params):
        with self.lock:
            self.sent.append(params)
        return self._message(params, params.get("text", ""))

    def api_editMessageText(self, params):
        with self.lock:
            self.edits.append(params)
        return self._message(params, params.get("text", ""))

    def api_answerCallbackQuery(self, params):
        with self.lock:
            self.answers.append(params)
        return True

    def api_setWebhook(self, params):
        with self.lock:
            self.webhook = params
        return True

    def api_deleteWebhook(self, params):
        with self.lock:
            self.webhook = None
        return True

    def api_getWebhookInfo(self, params):
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}


def decode_parameters(body: bytes, content_type: str) -> dict:
    if "json" in content_type:
        return json.loads(body or b"{}")
    params = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in TEXT_PARAMETERS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _handler_for(fake: FakeTelegram):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            self._serve()

        def do_GET(self):
            self._serve()

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            parts = path.strip("/").split("/")
            if len(parts) != 2 or not parts[0].startswith("bot"):
                status, answer, delay = 404, {"ok": False, "error_code": 404, "description": "Not Found"}, 0
            else:
                params = decode_parameters(body, self.headers.get("Content-Type", ""))
                status, answer, delay = fake.handle(parts[0][3:], parts[1], params)
            if delay:
                time.sleep(delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

    return Handler


@pytest.fixture
def fake_telegram(settings):
    """A running fake Bot API server; the Telegram settings point at it for the test."""
    fake = FakeTelegram().start()
    settings.TELEGRAM_BOT_TOKEN = fake.token
    settings.TELEGRAM_API_BASE_URL = fake.url
    settings.TELEGRAM_WEBHOOK_SECRET = "webhook-secret-for-tests_0123456789"
    settings.TELEGRAM_BOT_USERNAME = ""
    try:
        yield fake
    finally:
        fake.stop()
