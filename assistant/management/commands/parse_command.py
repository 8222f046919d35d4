"""manage.py parse_command "TEXT" [--offline] [--json] [--user NAME]: what the assistant understood, never executed.

--json prints one object with exactly the keys intent, symbol, amount, unit, order_type, price, direction,
bot, engine, confidence (null where the text does not give them). --user also resolves the parse against
that user's accounts and bots (and uses their default quote currency). Nothing is recorded or executed.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assistant.models import AssistantRequest
from assistant.understanding import understand


class Command(BaseCommand):
    help = "Print what the trading assistant understands from TEXT, without executing anything."

    def add_arguments(self, parser):
        parser.add_argument("text", help='the command, e.g. "buy 100 USDT of BTC" (quote it)')
        parser.add_argument("--offline", action="store_true", help="use the offline engine even if an LLM is set")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")
        parser.add_argument("--user", help="resolve against this user's accounts and bots")

    def handle(self, *args, text, offline, as_json, user, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No user {user!r}.")
        result = understand(text, user=owner, door=AssistantRequest.Door.CLI, engine="offline" if offline else None,
                            audit=False, count_request=False)
        if result.status == AssistantRequest.Status.REFUSED:
            raise CommandError(result.message)
        parsed = result.parsed
        if as_json:
            self.stdout.write(json.dumps(parsed.as_json(), ensure_ascii=False))
            return
        data = parsed.as_json()
        lines = [f"intent: {parsed.intent}"]
        if parsed.symbol or parsed.base or parsed.quote:
            symbol = parsed.symbol or f"{parsed.base or '?'}/{parsed.quote or '?'}"
            lines.append(f"symbol: {symbol}" + (" (default quote currency)" if parsed.quote_implied else ""))
        if parsed.amount is not None:
            lines.append(f"amount: {parsed.amount} {parsed.unit or '(unit not given)'}")
        for key in ("order_type", "price", "direction", "bot"):
            if data[key] is not None:
                lines.append(f"{key.replace('_', ' ')}: {getattr(parsed, key)}")
        if parsed.account:
            lines.append(f"account: {parsed.account}")
        if parsed.everything:
            lines.append("all: yes")
        lines.append(f"engine: {result.engine}, confidence {parsed.confidence:.2f}")
        missing = parsed.missing()
        if missing:
            lines.append("missing: " + ", ".join(missing))
        resolution = result.resolution
        if resolution is not None:
            lines.append(f"resolution: {resolution.status}")
            if resolution.account:
                lines.append(f"  account: {resolution.account}")
            if resolution.bot:
                lines.append(f"  bot: {resolution.bot.name}")
            for choice in resolution.choices:
                lines.append(f"  choice: {choice.label}")
        if result.message:
            lines.append(f"answer: {result.message}")
        for note in result.notes:
            lines.append(f"note: {note}")
        lines.append("(nothing was executed)")
        self.stdout.write("\n".join(lines))
