"""The one encrypted model field. Values are encrypted on save and decrypted on access as ``Secret``.

The associated data is ``<app_label>.<model>:<pk>:<field>``, so the model needs a primary key known
before the first save (a UUID default does it).

``account.api_key`` is the decrypted ``Secret`` (or None); the stored ciphertext lives under the field's
attname ``api_key_ciphertext`` (same database column, ``api_key``). That split is what lets ``dumpdata``
write the ciphertext and ``loaddata`` (a raw save) restore it as it was, without the key being present.
"""

import re

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.views.decorators.debug import sensitive_variables

from exchanges.encryption import Keyring
from tradingbot.log_redaction import register_secret

# The stored form: v1$<16 hex digits of key id>$<urlsafe base64>.
CIPHERTEXT = re.compile(r"v\d+\$[0-9a-f]{16}\$[A-Za-z0-9_=-]+")


class Secret:
    """A decrypted secret. ``str``/``repr`` show only a mask; ``reveal()`` is the one way to read it.

    Creating one registers the value with the log redaction (tradingbot.log_redaction), so no later log line,
    exchange message or error report of this process carries it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        register_secret(value)

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
    """``instance.<name>``: reads decrypt the stored ciphertext; a str assigned is a new plaintext."""

    def __init__(self, field: "EncryptedSecretField"):
        self.field = field

    @sensitive_variables()
    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = getattr(instance, self.field.attname)  # loads a deferred column
        if isinstance(value, Secret):
            return value if value else None
        if not value:
            return None
        return Secret(Keyring.from_settings().decrypt(str(value), self.field.associated_data(instance)))

    @sensitive_variables()
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

    def get_attname(self):
        return f"{self.name}_ciphertext"

    def get_attname_column(self):
        return self.get_attname(), self.db_column or self.name

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        setattr(cls, self.name, _SecretDescriptor(self))

    def associated_data(self, instance) -> str:
        if instance.pk is None:
            raise ImproperlyConfigured(f"{instance._meta.label} needs a primary key set before save to encrypt")
        return f"{instance._meta.label_lower}:{instance.pk}:{self.name}"

    def from_db_value(self, value, expression, connection):
        return Ciphertext(value or "")

    def to_python(self, value):
        """Deserialisation (loaddata) and model validation: ciphertext stays ciphertext, never a new plaintext."""
        if isinstance(value, (Ciphertext, Secret)):
            return value
        if value is None or value == "":
            return Ciphertext("")
        if isinstance(value, str) and CIPHERTEXT.fullmatch(value):
            return Ciphertext(value)
        raise ValidationError(
            "%(field)s takes an encrypted value (v1$<key id>$...), as dumpdata writes it; "
            "enter plaintext keys through the account form instead.",
            code="not_ciphertext", params={"field": self.name},
        )

    @sensitive_variables()
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
        value = self.value_from_object(obj)
        if isinstance(value, Secret):
            raise TypeError(f"{obj._meta.label}.{self.name} holds an unsaved plaintext: save before serialising")
        return str(value or "")

    def formfield(self, **kwargs):
        return None  # never edited in clear through a ModelForm or the admin


def encrypted_fields(model) -> list[EncryptedSecretField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedSecretField)]
