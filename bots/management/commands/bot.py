"""manage.py bot {list,start,stop,pause,resume,tick} [id] [--user NAME]: drive bots from a shell.

`bot tick` without an id runs one dispatcher round: every due bot is claimed and ticked here.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bots.models import Bot

ACTIONS = ("list", "start", "stop", "pause", "resume", "tick")


class Command(BaseCommand):
    help = ("List bots, start/stop/pause/resume one, or run one tick of it. With --user, only that user's "
            "bots exist for the command (as on the web pages); without it the operator sees every bot.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("bot_id", nargs="?", help="the bot's id (all but list)")
        parser.add_argument("--user", help="act as this user: only their bots can be listed or changed")

    def handle(self, *args, action, bot_id, user, **options):
        actor = None
        bots = Bot.objects.filter(kind=Bot.Kind.STRATEGY)  # manual books are no bots to drive
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user {user!r}.")
            bots = Bot.objects.for_user(actor).filter(kind=Bot.Kind.STRATEGY)
        if action == "list":
            return self.list(bots)
        if action == "tick" and bot_id is None:
            if user:
                raise CommandError("bot tick without an id ticks every due bot: it takes no --user.")
            return self.tick_due()
        if bot_id is None:
            raise CommandError(f"bot {action} needs a bot id: manage.py bot {action} ID")
        try:
            pk = int(bot_id)
        except ValueError:
            raise CommandError(f"The bot id must be a whole number, not {bot_id!r}.")
        bot = bots.select_related("exchange_account").filter(pk=pk).first()
        if bot is None:
            raise CommandError(f"No bot {pk}" + (f" for user {user!r}." if user else "."))
        if action == "tick":
            from bots.tick import tick_bot

            self.report(bot, tick_bot(bot.pk))
            return
        from commands.definitions import ControlBot
        from commands.service import OPERATOR, submit

        # Through the command service (door "command"), audited on the owner's activity.
        outcome = submit(bot.owner, ControlBot(bot_id=bot.pk, action=action), door="command",
                         actor=actor or OPERATOR, source_text=f"manage.py bot {action} {bot.pk}")
        if not outcome.done:
            raise CommandError(outcome.message)
        bot.refresh_from_db()
        self.stdout.write(f"bot {bot.pk} ({bot.name}): {bot.status}")

    def report(self, bot, result):
        bot.refresh_from_db()
        self.stdout.write(
            f"bot {bot.pk}: {result.outcome}"
            + (f", candle {result.candle_at:%Y-%m-%d %H:%M}, {result.signal}" if result.candle_at else "")
            + (f", orders {', '.join(result.orders)}" if result.orders else "")
            + f"; status {bot.status}" + (f" ({bot.status_reason})" if bot.status_reason else "")
        )

    def tick_due(self):
        from bots.scheduler import claim_due_bots
        from bots.tick import tick_bot

        claimed = claim_due_bots()
        for bot_id, token in claimed:
            self.report(Bot.objects.get(pk=bot_id), tick_bot(bot_id, lease=token))
        self.stdout.write(f"{len(claimed)} due bot(s) ticked.")

    def list(self, bots):
        rows = bots.select_related("owner").order_by("pk")
        if not rows:
            self.stdout.write("No bots.")
            return
        for bot in rows:
            last = f"{bot.last_candle_at:%Y-%m-%d %H:%M}" if bot.last_candle_at else "-"
            self.stdout.write(f"{bot.pk:>5}  {bot.status:<8} {bot.mode:<7} {bot.symbol:<12} {bot.timeframe:<4} "
                              f"last candle {last}  {bot.owner.get_username()}: {bot.name}")
