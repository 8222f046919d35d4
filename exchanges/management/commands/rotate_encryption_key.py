"""Re-encrypt every stored secret under the current ENCRYPTION_KEY (old keys from ENCRYPTION_OLD_KEYS)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from exchanges.encryption import DecryptionError, Keyring
from exchanges.key_rotation import rotate_secrets
from tradingbot.local_secrets import load_or_create_local_secrets, new_encryption_key, write_local_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret under ENCRYPTION_KEY, reading old values with ENCRYPTION_OLD_KEYS, in one "
        "transaction. In development, --generate makes a new key in the local key file first."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate", action="store_true",
            help="development only: generate a new key, keep the current one as an old key in the local key "
                 "file, then rotate",
        )

    def handle(self, *args, generate=False, **options):
        try:
            if generate:
                keyring = self._generate_local_key()
            else:
                keyring = Keyring.from_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc))
        try:
            count = rotate_secrets(keyring)
        except DecryptionError as exc:
            raise CommandError(f"nothing was changed: {exc}")
        self.stdout.write(f"Rotated {count} secret value(s) to key {keyring.current_id}.")

    def _generate_local_key(self) -> Keyring:
        if not settings.DEBUG:
            raise CommandError(
                "--generate only manages the development key file; in production set ENCRYPTION_KEY and "
                "ENCRYPTION_OLD_KEYS yourself (manage.py generate_encryption_key makes a key)."
            )
        if os.environ.get("ENCRYPTION_KEY"):
            raise CommandError(
                "ENCRYPTION_KEY is set in the environment, which wins over the local key file: set the new key there "
                "yourself (with the old one in ENCRYPTION_OLD_KEYS) and run this command without --generate."
            )
        path = settings.DATA_DIR / "local-secrets.json"
        data = load_or_create_local_secrets(path)
        old = [data["ENCRYPTION_KEY"], *data.get("ENCRYPTION_OLD_KEYS", [])]
        data["ENCRYPTION_KEY"] = new_encryption_key()
        data["ENCRYPTION_OLD_KEYS"] = old
        # The key file is written before any value changes, so a crash at any point leaves both keys on record.
        write_local_secrets(path, data)
        settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = data["ENCRYPTION_KEY"], old
        return Keyring.from_encoded(data["ENCRYPTION_KEY"], old)
