"""The one encrypted model field. Values are encrypted on save and decrypted on access as ``Secret``.

The associated data is ``<app_label>.<model>:<pk>:<field>``, so the model needs a primary key known
before the first save (a UUID default does it).
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from exchanges.encryption import Keyring


class Secret:
    """A decrypted secret. ``str``/``repr`` show only a mask; ``reveal()`` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def masked(self) -> str:
        return mask(self._value)

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"Secret({self.masked()})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret is not picklable")


def mask(value: str) -> str:
    """Only the last 4 characters, and only when the value is long enough that they reveal little."""
    if not value:
        return ""
    if len(value) < 12:
        return "••••"
    return "••••" + value[-4:]


class Ciphertext(str):
    """A value as stored in the database (so the descriptor can tell it from a new plaintext)."""


class _SecretDescriptor:
    def __init__(self, field: "EncryptedSecretField"):
        self.field = field

    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname, "")
        if isinstance(value, Ciphertext):
            if not value:
                return None
            return Secret(Keyring.from_settings().decrypt(value, self.field.associated_data(instance)))
        if isinstance(value, Secret):
            return value if value else None
        return None

    def __set__(self, instance, value):
        if value is None or value == "":
            value = Ciphertext("")
        elif isinstance(value, (Ciphertext, Secret)):
            pass
        elif isinstance(value, str):
            value = Secret(value)
        else:
            raise TypeError(f"{self.field.name} takes a str or Secret, not {type(value).__name__}")
        instance.__dict__[self.field.attname] = value


class EncryptedSecretField(models.TextField):
    """Stores ``v1$keyid$...`` ciphertext; the attribute reads back as a ``Secret`` (or None)."""

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.attname, _SecretDescriptor(self))

    def associated_data(self, instance) -> str:
        if instance.pk is None:
            raise ImproperlyConfigured(f"{instance._meta.label} needs a primary key set before save to encrypt")
        return f"{instance._meta.label_lower}:{instance.pk}:{self.name}"

    def from_db_value(self, value, expression, connection):
        return Ciphertext(value or "")

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname, Ciphertext(""))
        if isinstance(value, Secret):
            value = Ciphertext(Keyring.from_settings().encrypt(value.reveal(), self.associated_data(model_instance)))
            model_instance.__dict__[self.attname] = value
        return value

    def get_prep_value(self, value):
        if isinstance(value, Secret):
            raise TypeError("an encrypted field cannot be queried by its plaintext")
        return str(value) if value is not None else ""

    def value_to_string(self, obj):
        # Serialisation (dumpdata) carries ciphertext only.
        return str(obj.__dict__.get(self.attname, ""))

    def formfield(self, **kwargs):
        return None  # never edited in clear through a ModelForm or the admin


def encrypted_fields(model) -> list[EncryptedSecretField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedSecretField)]
