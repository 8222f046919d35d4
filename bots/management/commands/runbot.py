"""manage.py runbot ID [--replay-speed N]: run one bot in the foreground, printing each tick (debugging)."""

import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bots import control
from bots.models import Bot
from bots.scheduler import ACTIVE
from bots.tick import tick_bot


class Command(BaseCommand):
    help = "Run one bot in this process (starting it if stopped) until Ctrl-C, printing every tick."

    def add_arguments(self, parser):
        parser.add_argument("bot_id", type=int)
        parser.add_argument("--replay-speed", type=int, help="replay N times faster than real time (replay bots)")
        parser.add_argument("--max-ticks", type=int, default=0, help="stop after this many ticks (0: never)")

    def handle(self, *args, bot_id, replay_speed, max_ticks, **options):
        bot = Bot.objects.select_related("exchange_account").filter(pk=bot_id).first()
        if bot is None:
            raise CommandError(f"No bot {bot_id}.")
        if replay_speed is not None:
            if bot.mode != Bot.Mode.REPLAY:
                raise CommandError(f"--replay-speed is for replay bots; bot {bot_id} is a {bot.mode} bot.")
            if replay_speed <= 0:
                raise CommandError("--replay-speed must be a positive whole number.")
            # The clock keeps the replay time reached so far and goes on at the new speed.
            now = timezone.now()
            offset = control.replay_now(bot, now) - bot.replay_start if bot.replay_start else None
            Bot.objects.filter(pk=bot.pk).update(
                replay_speed=replay_speed, replay_offset=offset,
                replay_started_at=now if bot.replay_started_at else None, next_tick_at=None)
            bot.refresh_from_db()
        if bot.status not in ACTIVE:
            from commands.definitions import ControlBot
            from commands.service import OPERATOR, submit

            action = "resume" if bot.status == Bot.Status.PAUSED else "start"
            outcome = submit(bot.owner, ControlBot(bot_id=bot.pk, action=action), door="command", actor=OPERATOR,
                             source_text=f"manage.py runbot {bot.pk}")
            if not outcome.done:
                raise CommandError(outcome.message)
            bot.refresh_from_db()
        stopping = []
        previous = {sig: signal.signal(sig, lambda *a: stopping.append(True))
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.run(bot, max_ticks, stopping)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run(self, bot, max_ticks, stopping):
        ticks = 0
        while not stopping:
            bot.refresh_from_db()
            if bot.status not in ACTIVE:
                self.stdout.write(f"bot {bot.pk} is {bot.status}: {bot.status_reason}")
                break
            wait = (bot.next_tick_at - timezone.now()).total_seconds() if bot.next_tick_at else 0
            if wait > 0:
                time.sleep(min(wait, 0.5))
                continue
            result = tick_bot(bot.pk)
            ticks += 1
            line = f"{result.outcome:<8} {result.seconds * 1000:6.1f} ms"
            if result.candle_at:
                line += f"  {result.candle_at:%Y-%m-%d %H:%M}  {result.signal}"
            if result.orders:
                line += f"  orders: {', '.join(result.orders)}"
            self.stdout.write(line)
            if max_ticks and ticks >= max_ticks:
                break
