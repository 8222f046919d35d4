"""Set up the demo: a demo user, the shipped candles, a paper account, an RSI-cross strategy and a running
replay bot on BTC/USDT 5m that trades the real candles at a visible speed. Idempotent."""

from decimal import Decimal
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-trader-2026"
DEMO_BOT = "Demo: RSI cross on replayed BTC/USDT"
# The replay starts this many candles before the first RSI-cross entry of the file, so the demo shows a
# trade within its first minute; 300x plays one 5-minute candle per second.
LEAD_CANDLES = 40
DEMO_SPEED = 300


class Command(BaseCommand):
    help = ("Create the demo user (demo / demo-trader-2026), import the demo candles, and a paper account, an "
            "RSI-cross strategy and a running replay bot for it. Safe to run again.")

    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.import_candles()
        bot = self.demo_bot(user)
        if bot is not None:
            self.stdout.write(f"Demo bot: {bot.name} ({bot.status}, {bot.replay_speed}x replay)")
        self.stdout.write(f"Demo login: {DEMO_USERNAME} / {DEMO_PASSWORD}" + ("" if created else " (existing user)"))

    def import_candles(self):
        from exchanges.candles import last_candle_time

        if last_candle_time("binance", "BTC/USDT", "5m") is None:
            report = StringIO()  # a line per file and its gaps: more than a demo needs to see
            call_command("import_candles", "--demo", stdout=report)
            self.stdout.write(f"Demo candles imported ({report.getvalue().count(' candles imported')} files).")

    def demo_bot(self, user):
        from bots.models import Bot
        from exchanges.candles import load_candles
        from exchanges.models import ExchangeAccount
        from strategies.models import StrategyConfig
        from strategies.registry import build_strategy

        existing = Bot.objects.for_user(user).filter(name=DEMO_BOT).first()
        if existing is not None:
            return existing
        candles = load_candles("binance", "BTC/USDT", "5m")
        if candles.empty:
            self.stderr.write("No BTC/USDT 5m candles: the demo bot is not created.")
            return None
        account, _ = ExchangeAccount.objects.get_or_create(
            owner=user, label="Demo paper account", defaults={"exchange_id": "binance", "mode": "paper"})
        config, _ = StrategyConfig.objects.get_or_create(
            owner=user, name="RSI cross (defaults)", defaults={"strategy": "rsi_cross", "params": {}})
        strategy = build_strategy(config.strategy, config.params)
        signals = strategy.signals(candles)
        # The first entry with the strategy's warm-up before the replay start (an earlier start is moved there).
        first_buy = next((i for i, s in enumerate(signals) if s == 1 and i >= strategy.warmup + LEAD_CANDLES),
                         strategy.warmup + LEAD_CANDLES)
        replay_start = candles.index[max(first_buy - LEAD_CANDLES, 0)].to_pydatetime()
        bot = Bot.objects.create(
            owner=user, name=DEMO_BOT, exchange_account=account, strategy=config, symbol="BTC/USDT",
            timeframe="5m", mode=Bot.Mode.REPLAY, replay_start=replay_start,
            replay_speed=DEMO_SPEED, starting_balance=Decimal("10000"), stake=Decimal("0.1"),
        )
        from commands.definitions import ControlBot
        from commands.service import OPERATOR, submit

        submit(user, ControlBot(bot_id=bot.pk, action="start"), door="command", actor=OPERATOR,
               source_text="manage.py setup_demo")
        bot.refresh_from_db()
        return bot
