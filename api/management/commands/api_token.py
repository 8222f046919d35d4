"""API tokens from the shell: create (printed once), list, revoke."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import ApiToken


class Command(BaseCommand):
    help = "Create, list or revoke a user's API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a token; it is printed once and stored hashed.")
        create.add_argument("user")
        create.add_argument("--scope", choices=ApiToken.Scope.values, default="read")
        create.add_argument("--name", default="command line")
        create.add_argument("--expires", default="90d", help="90d, 12h, 2w, ... or never (default 90d)")
        listing = sub.add_parser("list", help="The user's tokens (never the token itself).")
        listing.add_argument("user")
        revoke = sub.add_parser("revoke", help="Revoke a token by its id (see list).")
        revoke.add_argument("user")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action, user, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user {user}.")
        if action == "create":
            try:
                made = tokens.create_token(owner, name=options["name"], scope=options["scope"],
                                           expires_in=tokens.parse_expiry(options["expires"]))
            except tokens.TokenError as exc:
                raise CommandError(str(exc))
            expiry = made.token.expires_at.isoformat() if made.token.expires_at else "never"
            self.stderr.write(f"Token {made.token.pk} ({made.token.scope}, expires {expiry}); shown once:")
            self.stdout.write(made.raw)
        elif action == "list":
            for token in ApiToken.objects.for_user(owner):
                state = "revoked" if token.revoked_at else "active" if token.active else "expired"
                used = (f"{token.last_used_at:%Y-%m-%d %H:%M} from {token.last_used_ip}" if token.last_used_at
                        else "never")
                self.stdout.write(f"{token.pk}\t{token.prefix}…\t{token.scope}\t{state}\t{token.name}\t"
                                  f"expires {token.expires_at or 'never'}\tlast used {used}")
        else:
            if not tokens.revoke(owner, options["token_id"]):
                raise CommandError(f"{user} has no active token {options['token_id']}.")
            self.stdout.write(f"Token {options['token_id']} revoked.")
