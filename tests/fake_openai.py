"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 for tests, talked to by the real `openai` client.

    fake = FakeOpenAI().start()                 # or the `fake_openai` fixture (the assistant's settings point here)
    fake.reply_tool({...})                      # next answer: one propose_command tool call, arguments a JSON string
    fake.reply_tool({...}, as_object=True)      #   ... arguments as a JSON object, as some servers send them
    fake.reply_json({...})                      # a json_schema answer: message.content holds the JSON text
    fake.reply_content("not json")              # any content text (invalid JSON, fenced JSON...)
    fake.reply_tool_calls([(name, args), ...])  # several tool calls, or a function that does not exist
    fake.reply_message({...})                   # any message object (a refusal, empty content)
    fake.reply_error(500, "boom")               # an HTTP error with an OpenAI-style error body
    fake.reply_hang(3.0)                        # answer only after 3 s (longer than the client waits)
    fake.reply_body(b"<html>")                  # a 200 whose body is not JSON
    fake.reply_choices([])                      # an answer with no choices
    fake.requests                               # [(headers, body dict)] of every POST /v1/chat/completions
    fake.usage = (120, 30)                      # prompt and completion tokens reported with each answer
    fake.stop()

Replies are used in order, one per request; with none queued it answers 500 "no reply scripted", so a test
always says what the model does. It serves from a thread, like tests/fake_exchange.py.
"""

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOOL_NAME = "propose_command"


class FakeOpenAI:
    def __init__(self):
        self.replies: deque = deque()
        self.requests: list[tuple[dict, dict]] = []
        self.usage = (120, 30)
        self.lock = threading.Lock()
        self.server = None
        self.thread = None
        self._ids = 0

    def start(self) -> "FakeOpenAI":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="fake-openai", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    # --- scripting the model ---

    def reply_tool(self, arguments: dict, *, as_object: bool = False, name: str = TOOL_NAME) -> None:
        self.reply_tool_calls([(name, arguments)], as_object=as_object)

    def reply_tool_calls(self, calls: list[tuple[str, dict]], *, as_object: bool = False) -> None:
        tool_calls = [{"id": f"call_{k}", "type": "function",
                       "function": {"name": name, "arguments": args if as_object else json.dumps(args)}}
                      for k, (name, args) in enumerate(calls)]
        self.reply_message({"role": "assistant", "content": None, "tool_calls": tool_calls},
                           finish_reason="tool_calls")

    def reply_json(self, answer: dict) -> None:
        self.reply_content(json.dumps(answer))

    def reply_content(self, content: str) -> None:
        self.reply_message({"role": "assistant", "content": content})

    def reply_message(self, message: dict, *, finish_reason: str = "stop") -> None:
        self.replies.append(("message", message, finish_reason))

    def reply_choices(self, choices: list) -> None:
        self.replies.append(("choices", choices, None))

    def reply_error(self, status: int, message: str = "error") -> None:
        self.replies.append(("error", status, message))

    def reply_hang(self, seconds: float) -> None:
        self.replies.append(("hang", seconds, None))

    def reply_body(self, body: bytes) -> None:
        self.replies.append(("body", body, None))

    # --- answering ---

    def answer(self, headers: dict, body: dict) -> tuple[int, bytes, float]:
        with self.lock:
            self.requests.append((headers, body))
            reply = self.replies.popleft() if self.replies else ("error", 500, "no reply scripted")
            self._ids += 1
            ident = self._ids
        kind, value, extra = reply
        if kind == "error":
            return value, json.dumps({"error": {"message": extra, "type": "fake_error", "code": None}}).encode(), 0
        if kind == "body":
            return 200, value, 0
        if kind == "hang":
            return 200, self._completion(ident, body, [self._choice({"role": "assistant", "content": "{}"})]), value
        if kind == "choices":
            return 200, self._completion(ident, body, value), 0
        return 200, self._completion(ident, body, [self._choice(value, extra)]), 0

    @staticmethod
    def _choice(message: dict, finish_reason: str = "stop") -> dict:
        return {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}

    def _completion(self, ident: int, body: dict, choices: list) -> bytes:
        prompt, completion = self.usage
        return json.dumps({
            "id": f"chatcmpl-fake-{ident}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"), "choices": choices,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }).encode()


def _handler_for(fake: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, json.dumps({"error": {"message": "body is not JSON"}}).encode())
                return
            status, payload, delay = fake.answer({k.lower(): v for k, v in self.headers.items()}, body)
            if delay:
                time.sleep(delay)
            try:
                self._send(status, payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                pass

        def _send(self, status: int, payload: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


FAKE_KEY = "sk-fake-assistant-key-0123456789abcdef"


@pytest.fixture
def fake_openai(settings):
    """A running fake OpenAI server; the assistant's settings point at it (the LLM engine is configured)."""
    fake = FakeOpenAI().start()
    settings.OPENAI_BASE_URL = fake.url
    settings.OPENAI_API_KEY = FAKE_KEY
    settings.OPENAI_MODEL = "fake-model"
    settings.ASSISTANT_LLM_TIMEOUT_SECONDS = 1.5
    settings.ASSISTANT_LLM_ANSWER = "tool"
    try:
        yield fake
    finally:
        fake.stop()
