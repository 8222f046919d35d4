"""AES-256-GCM encryption of secrets at rest, with a keyring so keys can be rotated.

A stored value is ``v1$<key id>$<urlsafe base64 of nonce + ciphertext + tag>``. The key id (the first
16 hex digits of the key's SHA-256) is the key version: it names the key that decrypts the value, so
values under an old key stay readable while ENCRYPTION_OLD_KEYS still lists it. The associated data
names the row and field the value belongs to, so a ciphertext copied elsewhere does not decrypt.
"""

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

FORMAT_VERSION = "v1"
NONCE_BYTES = 12  # 96-bit nonce, random per value


class DecryptionError(Exception):
    """A stored secret could not be decrypted (wrong key, tampered, or moved to another row/field)."""


def parse_key(encoded: str) -> bytes:
    try:
        text = encoded.strip().rstrip("=").encode("ascii")
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ImproperlyConfigured("an encryption key must be urlsafe base64 of 32 bytes") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"an encryption key must be 32 bytes (AES-256), this one is {len(raw)}; "
            "run manage.py generate_encryption_key for a new one"
        )
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The current key, which encrypts, and older keys, which only decrypt."""

    # Never in a repr: a Keyring in an error report's local variables must not print the raw keys.
    current: bytes = field(repr=False)
    old: tuple[bytes, ...] = field(default=(), repr=False)

    @classmethod
    def from_settings(cls) -> "Keyring":
        return cls.from_encoded(settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS)

    @classmethod
    def from_encoded(cls, current: str, old: list[str] | tuple[str, ...] = ()) -> "Keyring":
        return cls(parse_key(current), tuple(parse_key(k) for k in old))

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def key_for(self, wanted_id: str) -> bytes | None:
        for key in (self.current, *self.old):
            if key_id(key) == wanted_id:
                return key
        return None

    @sensitive_variables("plaintext")
    def encrypt(self, plaintext: str, associated_data: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode("utf-8"), associated_data.encode("utf-8"))
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{FORMAT_VERSION}${self.current_id}${body}"

    @sensitive_variables("plain")
    def decrypt(self, stored: str, associated_data: str) -> str:
        version, kid, body = split_stored(stored)
        if version != FORMAT_VERSION:
            raise DecryptionError(f"unknown secret format {version!r}")
        key = self.key_for(kid)
        if key is None:
            raise DecryptionError(f"no configured key has id {kid} (is it missing from ENCRYPTION_OLD_KEYS?)")
        try:
            blob = base64.urlsafe_b64decode(body.encode("ascii"))
            plain = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data.encode("utf-8"))
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise DecryptionError("secret failed authentication: wrong key, tampered, or not this row's") from exc
        return plain.decode("utf-8")


def split_stored(stored: str) -> tuple[str, str, str]:
    parts = stored.split("$")
    if len(parts) != 3:
        raise DecryptionError("stored secret is not in the v1$keyid$data form")
    return parts[0], parts[1], parts[2]


def stored_key_id(stored: str) -> str:
    return split_stored(stored)[1]
