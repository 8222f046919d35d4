"""manage.py assistant USER "TEXT" [--yes] [--json]: the command box's path (assistant.conversation.ask), for
scripts. Door "cli" (the command service's "command").

Without --yes a command that changes something is only proposed: its sentence and pending id are printed and
`manage.py trade USER confirm <id>` (or the command box, or Telegram) confirms it. With --yes it is confirmed
at once (you typed it and the sentence is printed first). --json prints the Reply(ies) as one JSON object:
{"reply": ..., "confirmed": ... or null}. A refusal exits non-zero.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assistant.conversation import CONFIRM, REFUSED, ask, confirm


class Command(BaseCommand):
    help = "Ask the trading assistant as USER (the same path as the command box); --yes confirms the command."

    def add_arguments(self, parser):
        parser.add_argument("user")
        parser.add_argument("text", help='the command, e.g. "buy 100 USDT of BTC" (quote it)')
        parser.add_argument("--yes", action="store_true", help="confirm the proposed command at once")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")

    def handle(self, *args, user, text, yes, as_json, **options):
        owner = get_user_model().objects.filter(username=user, is_active=True).first()
        if owner is None:
            raise CommandError(f"No active user {user!r}.")
        reply = ask(owner, text, door="cli")
        confirmed = None
        if reply.kind == CONFIRM and yes:
            confirmed = confirm(owner, reply.pending_id, door="cli")
        if as_json:
            self.stdout.write(json.dumps({"reply": reply.as_dict(),
                                          "confirmed": confirmed.as_dict() if confirmed else None},
                                         ensure_ascii=False, default=str))
        else:
            for note in reply.notes:
                self.stdout.write(f"note: {note}")
            if reply.kind == CONFIRM:
                self.stdout.write(reply.sentence)
                if confirmed is None:
                    self.stdout.write(f"Not done yet. Confirm within 2 minutes: manage.py trade {user} confirm "
                                      f"{reply.pending_id} (or run this again with --yes)")
            else:
                self.stdout.write(f"{reply.kind}: {reply.text}")
            if confirmed is not None:
                self.stdout.write(f"{confirmed.kind}: {confirmed.text}")
        last = confirmed or reply
        if last.kind == REFUSED:
            raise CommandError(last.text)
