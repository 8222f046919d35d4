"""Re-encrypt every stored secret under the current key, in one transaction.

Every EncryptedSecretField of every model is covered. Values already under the current key are left
alone, so running it twice is harmless; an interrupted run rolls back and leaves every value under the
key it had, which the keyring (current + ENCRYPTION_OLD_KEYS) still reads.
"""

from collections.abc import Callable

from django.apps import apps
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from exchanges.encryption import Keyring, stored_key_id
from exchanges.secret_field import encrypted_fields


def models_with_secrets() -> list[tuple[type, list]]:
    found = []
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if fields:
            found.append((model, fields))
    return found


@sensitive_variables()
def rotate_secrets(keyring: Keyring, *, after_each: Callable[[int], None] | None = None) -> int:
    """Re-encrypt values not under keyring.current; return how many were rotated."""
    rotated = 0
    with transaction.atomic():
        for model, fields in models_with_secrets():
            names = [f.name for f in fields]
            rows = model._base_manager.select_for_update().order_by("pk").values_list("pk", *names)
            for pk, *values in rows.iterator(chunk_size=500):
                changes = {}
                for field, stored in zip(fields, values, strict=True):
                    if not stored or stored_key_id(stored) == keyring.current_id:
                        continue
                    associated = f"{model._meta.label_lower}:{pk}:{field.name}"
                    changes[field.name] = keyring.encrypt(keyring.decrypt(stored, associated), associated)
                if changes:
                    model._base_manager.filter(pk=pk).update(**changes)
                    rotated += len(changes)
                    if after_each:
                        after_each(rotated)
    return rotated
