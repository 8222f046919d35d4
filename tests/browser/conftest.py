"""Browser-test fixtures: a daphne web server and a django-q2 worker as subprocesses on the test database,
and Playwright driving Debian's Chromium (never a downloaded browser). Screenshots go to test-artifacts/."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_DIR / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then wait for the process and everything it started (its own session: qcluster's worker
    processes), so no database connection outlives the test; SIGKILL whatever is left after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)  # anything left in the group this test started?
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class WebServer:
    """daphne serving tradingbot.asgi on the test database; restartable on the same port."""

    def __init__(self, env: dict):
        self.env = {k: v for k, v in env.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = ARTIFACTS / "daphne.log"

    def start(self) -> "WebServer":
        ARTIFACTS.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [str(Path(PYTHON).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
             "tradingbot.asgi:application"],
            cwd=PROJECT_DIR, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log.open("ab"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"daphne did not answer in 30 s: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


class Worker:
    """manage.py worker on the test database (the bot dispatcher, the scheduler and backtests)."""

    def __init__(self, env: dict):
        self.env = {k: v for k, v in env.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        self.process = None
        self.log = ARTIFACTS / "qcluster.log"

    def start(self) -> "Worker":
        ARTIFACTS.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "worker"], cwd=PROJECT_DIR, env=self.env, stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"), start_new_session=True,
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=20)
            self.process = None


@pytest.fixture
def web_server(transactional_db):
    server = WebServer(env_for_test_database()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def worker(transactional_db):
    from django_q.brokers import get_broker

    # Tasks left in a Redis queue by an earlier run (another database) would hold both worker processes.
    get_broker().purge_queue()
    process = Worker(env_for_test_database()).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse ORM
    # calls from the test; the test code is plain sync code, so allow it while the browser is up.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: the test means it
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.on("response", lambda r: console.append(f"http {r.status}: {r.url}") if r.status >= 400 else None)
    try:
        yield page
    finally:
        if console:
            print("browser console:\n" + "\n".join(console[-50:]))
        context.close()


def wait_for_js(page, expression: str, timeout: float = 10_000) -> None:
    """Wait until a JS expression is truthy in the page. Playwright's wait_for_function compiles its predicate
    with eval inside the page, which the site's Content-Security-Policy (no 'unsafe-eval') refuses;
    page.evaluate goes through the devtools protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:g} s: {expression}")
        time.sleep(0.05)


def screenshot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page, base_url: str, user) -> None:
    """A session made in the test process (the database is shared), handed to the browser as its cookie."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}])
    page.goto(f"{base_url}/")
