"""Print a new AES-256 key for ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand

from tradingbot.local_secrets import new_encryption_key


class Command(BaseCommand):
    help = "Print a new random 256-bit key (urlsafe base64) for ENCRYPTION_KEY."

    def handle(self, *args, **options):
        self.stdout.write(new_encryption_key())
        self.stderr.write(
            "To rotate: set ENCRYPTION_KEY to this value, move the previous key to ENCRYPTION_OLD_KEYS, "
            "then run: manage.py rotate_encryption_key"
        )
