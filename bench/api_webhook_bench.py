"""Webhook alerts and API requests through the whole Django stack (middleware, URL routing, django-ninja, the
database), in-process with the test client: the time to answer one alert (check, audit, dedupe, queue on the
ORM broker) against a reference measured in the same run, an authenticated GET /api/v1/me (a token lookup
and a JSON answer), and the worker's time per queued alert. Target: p99 of an answer < 1 s (TradingView
gives up after 3 s). A throwaway SQLite database under var/, never the real one.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ALERTS = int(os.environ.get("BENCH_WEBHOOK_ALERTS", "300"))
TARGET_P99_MS = 1000.0
PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_PATH = PROJECT_DIR / "var" / "bench-api-webhook.sqlite3"


def main() -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "SQLITE_PATH": str(DB_PATH), "DJANGO_SETTINGS_MODULE": "tradingbot.settings",
           "API_RATE_LIMIT": "0"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env,
                   check=True)
    child = subprocess.run([sys.executable, "-m", "bench.api_webhook_bench", "--child"], cwd=PROJECT_DIR, env=env)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    return child.returncode


def _p(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def child() -> int:
    import json
    from datetime import timedelta

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from api import tasks, tokens, webhooks
    from bots.models import Bot
    from exchanges.candles import read_candle_file, upsert_candles
    from exchanges.models import ExchangeAccount
    from strategies.models import StrategyConfig

    candles = read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m")
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    user = get_user_model().objects.create_user("bench")
    account = ExchangeAccount.objects.create(owner=user, label="paper", exchange_id="binance", mode="paper")
    config = StrategyConfig.objects.create(owner=user, name="rsi", strategy="rsi_cross", params={})
    bot = Bot.objects.create(owner=user, name="tv", exchange_account=account, strategy=config, symbol="BTC/USDT",
                             mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                             replay_start=candles.index[1000].to_pydatetime(), replay_speed=1,
                             replay_offset=timedelta(minutes=5))
    made = webhooks.enable(bot)
    raw = tokens.create_token(user, name="bench", scope="read").raw
    api, hook = Client(HTTP_AUTHORIZATION=f"Bearer {raw}"), Client()
    url = f"/api/v1/webhooks/{made.endpoint.hook_id}"

    def timed(call, n):
        samples = []
        for k in range(n):
            started = time.perf_counter()
            response = call(k)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 202), response.content
        return samples

    timed(lambda k: api.get("/api/v1/me"), 20)  # warm-up
    reference = timed(lambda k: api.get("/api/v1/me"), ALERTS)
    actions = ("buy", "close")
    answers = timed(lambda k: hook.post(url, json.dumps({"secret": made.secret, "action": actions[k % 2],
                                                        "symbol": "BTC/USDT", "id": f"a{k}"}),
                                        content_type="application/json"), ALERTS)
    started = time.perf_counter()
    processed = tasks.process_alerts(made.endpoint.pk)
    drain = time.perf_counter() - started

    ref50, hook50, hook99 = statistics.median(reference), statistics.median(answers), _p(answers, 0.99)
    print(f"GET /api/v1/me (reference): p50 {ref50:.2f} ms, p99 {_p(reference, 0.99):.2f} ms")
    print(f"webhook alert answered:     p50 {hook50:.2f} ms, p99 {hook99:.2f} ms "
          f"({hook50 / ref50:.1f}x the reference; target p99 < {TARGET_P99_MS:.0f} ms)")
    print(f"worker: {processed} alerts through the command service in {drain:.2f} s "
          f"({drain / max(processed, 1) * 1000:.1f} ms each, {drain / max(processed, 1) * 1000 / ref50:.0f}x the "
          "reference)")
    return 0 if hook99 < TARGET_P99_MS else 1


if __name__ == "__main__":
    sys.exit(child() if "--child" in sys.argv else main())
