"""manage.py trade USER ...: the command service from a shell (door "command"), for scripts and operators.

    trade alice buy BTC/USDT 100 --unit quote --account "Paper"      # 100 USDT of BTC at market
    trade alice sell BTC/USDT 50 --unit percent --account Binance --limit 71000 --yes
    trade alice close 7 [--stop] [--yes]       # a bot's position        trade alice exit 12 [--yes]   # any position
    trade alice cancel 31 [--yes]              # one order               trade alice confirm <pending id>
    trade alice alert BTC/USDT above 70000 --account Paper [--repeat]

A live command waits for confirmation like anywhere else: it prints the sentence and its pending id; `--yes`
confirms it at once (you have read the sentence you typed), `confirm` confirms one later.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from commands.definitions import CancelOrders, ClosePosition, CreateAlert, ForceExit, PlaceOrder
from commands.service import Outcome, confirm, submit
from exchanges.models import ExchangeAccount


class Command(BaseCommand):
    help = "Place, close, cancel and confirm orders and set price alerts through the command service."

    def add_arguments(self, parser):
        parser.add_argument("user")
        sub = parser.add_subparsers(dest="action", required=True)
        for side in ("buy", "sell"):
            p = sub.add_parser(side)
            p.add_argument("symbol")
            p.add_argument("amount")
            p.add_argument("--account", required=True, help="the exchange account's label")
            p.add_argument("--unit", choices=("base", "quote", "percent"), default="base")
            p.add_argument("--limit", help="a limit price (otherwise at market)")
            p.add_argument("--yes", action="store_true", help="confirm a live order at once")
        p = sub.add_parser("close")
        p.add_argument("bot_id")
        p.add_argument("--stop", action="store_true", help="stop the bot first")
        p.add_argument("--yes", action="store_true")
        p = sub.add_parser("exit")
        p.add_argument("position_id")
        p.add_argument("--yes", action="store_true")
        p = sub.add_parser("cancel")
        p.add_argument("order_id")
        p.add_argument("--yes", action="store_true")
        p = sub.add_parser("confirm")
        p.add_argument("pending_id")
        p = sub.add_parser("alert")
        p.add_argument("symbol")
        p.add_argument("direction", choices=("above", "below"))
        p.add_argument("price")
        p.add_argument("--account", required=True)
        p.add_argument("--repeat", action="store_true")
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        action = options["action"]
        text = "manage.py trade " + " ".join(str(v) for k, v in options.items() if k in (
            "action", "symbol", "amount", "unit", "limit", "bot_id", "position_id", "order_id", "direction", "price")
            and v)
        if action == "confirm":
            return self.report(confirm(user, options["pending_id"], door="command"), options)
        outcome = submit(user, self.command(user, action, options), door="command", source_text=text)
        if outcome.needs_confirmation and options.get("yes"):
            self.stdout.write(f"{outcome.sentence} (confirmed with --yes)")
            outcome = confirm(user, outcome.pending_id, door="command")
        return self.report(outcome, options)

    def command(self, user, action, options):
        if action in ("buy", "sell", "alert"):
            account = ExchangeAccount.objects.for_user(user).filter(label=options["account"]).first()
            if account is None:
                raise CommandError(f"{options['user']} has no exchange account {options['account']!r}.")
        if action in ("buy", "sell"):
            return PlaceOrder(account_id=str(account.pk), symbol=options["symbol"], side=action,
                              amount=options["amount"], unit=options["unit"],
                              order_type="limit" if options["limit"] else "market", price=options["limit"])
        if action == "close":
            return ClosePosition(bot_id=options["bot_id"], stop_bot=options["stop"])
        if action == "exit":
            return ForceExit(position_id=options["position_id"])
        if action == "cancel":
            return CancelOrders(order_id=options["order_id"])
        return CreateAlert(symbol=options["symbol"], direction=options["direction"], price=options["price"],
                           account_id=str(account.pk), repeat=options["repeat"])

    def report(self, outcome: Outcome, options) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(outcome.as_dict(), default=str))
        elif outcome.needs_confirmation:
            self.stdout.write(f"{outcome.sentence}\nConfirm within 2 minutes: manage.py trade {options['user']} "
                              f"confirm {outcome.pending_id}")
        else:
            self.stdout.write(f"{outcome.status}: {outcome.message}")
        if outcome.status in (Outcome.REFUSED, Outcome.FAILED):
            raise CommandError(outcome.message)
