"""AES-GCM secrets: round trip, fresh nonces, tamper/move/wrong-key failures, and key rotation."""

import base64
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from exchanges.encryption import DecryptionError, Keyring, stored_key_id
from exchanges.key_rotation import rotate_secrets
from exchanges.models import ExchangeAccount
from tradingbot.local_secrets import new_encryption_key

SECRET = "sk-THIS-IS-THE-PLAINTEXT-SECRET-9f8e7d"


def raw_column(account, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM exchanges_exchangeaccount WHERE id = %s", [account.pk.hex
                       if connection.vendor == "sqlite" else account.pk])
        return cursor.fetchone()[0]


def write_raw(account, column, value):
    ExchangeAccount.objects.filter(pk=account.pk).update(**{column: value})


def fresh(account):
    return ExchangeAccount.objects.get(pk=account.pk)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct-horse-battery")


def make_account(user, label="main", **secrets):
    values = {"api_key": "AKIA-public-key-0001", "api_secret": SECRET, **secrets}
    return ExchangeAccount.objects.create(owner=user, exchange_id="binance", label=label, mode="live", **values)


def test_keyring_round_trip_and_fresh_nonce():
    ring = Keyring.from_encoded(new_encryption_key())
    one = ring.encrypt(SECRET, "row:1:f")
    two = ring.encrypt(SECRET, "row:1:f")
    assert one != two  # a fresh 96-bit nonce per value
    assert len(base64.urlsafe_b64decode(one.split("$")[2])) == 12 + len(SECRET) + 16
    assert ring.decrypt(one, "row:1:f") == SECRET == ring.decrypt(two, "row:1:f")


@pytest.mark.django_db
def test_model_round_trip_and_no_plaintext_in_row(user):
    account = make_account(user, passphrase="pass-phrase-123456")
    stored = raw_column(account, "api_secret")
    assert SECRET not in stored and stored.startswith("v1$")
    assert stored_key_id(stored) == Keyring.from_settings().current_id
    again = fresh(account)
    assert again.api_secret.reveal() == SECRET
    assert again.passphrase.reveal() == "pass-phrase-123456"
    assert str(again.api_secret) == "••••7d"[:4] + SECRET[-4:]
    assert SECRET not in repr(again.api_secret) and SECRET not in str(again.__dict__)


@pytest.mark.django_db
def test_same_secret_in_two_rows_is_stored_differently(user):
    a = make_account(user, label="a")
    b = make_account(user, label="b")
    assert raw_column(a, "api_secret") != raw_column(b, "api_secret")


@pytest.mark.django_db
def test_flipped_byte_fails(user):
    account = make_account(user)
    version, kid, body = raw_column(account, "api_secret").split("$")
    blob = bytearray(base64.urlsafe_b64decode(body))
    blob[20] ^= 0x01
    write_raw(account, "api_secret", f"{version}${kid}${base64.urlsafe_b64encode(bytes(blob)).decode()}")
    with pytest.raises(DecryptionError):
        _ = fresh(account).api_secret


@pytest.mark.django_db
def test_ciphertext_moved_to_another_row_fails(user):
    a = make_account(user, label="a")
    b = make_account(user, label="b", api_secret="another-secret-value-xyz")
    write_raw(b, "api_secret", raw_column(a, "api_secret"))
    with pytest.raises(DecryptionError):
        _ = fresh(b).api_secret


@pytest.mark.django_db
def test_ciphertext_moved_to_another_field_fails(user):
    account = make_account(user)
    write_raw(account, "api_key", raw_column(account, "api_secret"))
    with pytest.raises(DecryptionError):
        _ = fresh(account).api_key
    assert fresh(account).api_secret.reveal() == SECRET  # the original is untouched


@pytest.mark.django_db
def test_wrong_key_fails(user, settings):
    account = make_account(user)
    settings.ENCRYPTION_KEY = new_encryption_key()
    settings.ENCRYPTION_OLD_KEYS = []
    with pytest.raises(DecryptionError, match="no configured key"):
        _ = fresh(account).api_secret


@pytest.mark.django_db
def test_masked_display_never_raises(user, settings):
    account = make_account(user)
    settings.ENCRYPTION_KEY = new_encryption_key()
    assert fresh(account).masked("api_secret") == "(unreadable: key missing?)"


@pytest.mark.django_db
def test_rotation_reencrypts_everything_and_keeps_it_readable(user, settings):
    accounts = [make_account(user, label=f"acct{i}", api_secret=f"secret-number-{i:04d}-abcdef") for i in range(4)]
    old_key, new_key = settings.ENCRYPTION_KEY, new_encryption_key()
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = new_key, [old_key]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "Rotated 8 secret value(s)" in out.getvalue()  # api_key + api_secret per account; no passphrases
    new_id = Keyring.from_encoded(new_key).current_id
    for account in accounts:
        assert stored_key_id(raw_column(account, "api_secret")) == new_id
    # The old key can now go: everything reads with the new key alone.
    settings.ENCRYPTION_OLD_KEYS = []
    for i, account in enumerate(accounts):
        assert fresh(account).api_secret.reveal() == f"secret-number-{i:04d}-abcdef"
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "Rotated 0 secret value(s)" in out.getvalue()


class Interrupted(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_rotation_stopped_half_way_loses_nothing(user, settings):
    accounts = [make_account(user, label=f"acct{i}", api_secret=f"secret-number-{i:04d}-abcdef") for i in range(4)]
    before = {a.pk: raw_column(a, "api_secret") for a in accounts}
    old_key, new_key = settings.ENCRYPTION_KEY, new_encryption_key()
    ring = Keyring.from_encoded(new_key, [old_key])

    def stop_after_three(done):
        if done >= 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate_secrets(ring, after_each=stop_after_three)
    # Rolled back: every value is still the old ciphertext, readable with the old key...
    assert {a.pk: raw_column(a, "api_secret") for a in accounts} == before
    for i, account in enumerate(accounts):
        assert fresh(account).api_secret.reveal() == f"secret-number-{i:04d}-abcdef"
    # ...and readable once the new key is current with the old one kept, and a full run then succeeds.
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = new_key, [old_key]
    assert rotate_secrets(Keyring.from_settings()) == 8
    settings.ENCRYPTION_OLD_KEYS = []
    for i, account in enumerate(accounts):
        assert fresh(account).api_secret.reveal() == f"secret-number-{i:04d}-abcdef"


@pytest.mark.django_db
def test_rotation_refuses_when_a_value_cannot_be_read(user, settings):
    account = make_account(user)
    other = make_account(user, label="other")
    write_raw(other, "api_secret", raw_column(account, "api_secret"))  # moved: cannot decrypt
    before = raw_column(account, "api_key")
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_OLD_KEYS = new_encryption_key(), [settings.ENCRYPTION_KEY]
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("rotate_encryption_key", stdout=io.StringIO())
    assert raw_column(account, "api_key") == before


@pytest.mark.django_db
def test_generate_rotation_in_development_updates_the_key_file(user, settings, tmp_path, monkeypatch):
    monkeypatch.delenv("ENCRYPTION_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    (tmp_path / "local-secrets.json").write_text(
        json.dumps({"SECRET_KEY": "x", "ENCRYPTION_KEY": settings.ENCRYPTION_KEY, "ENCRYPTION_OLD_KEYS": []})
    )
    account = make_account(user)
    old_key = settings.ENCRYPTION_KEY
    settings.DEBUG = True
    out = io.StringIO()
    call_command("rotate_encryption_key", "--generate", stdout=out)
    assert "Rotated 2 secret value(s)" in out.getvalue()
    data = json.loads((tmp_path / "local-secrets.json").read_text())
    assert data["ENCRYPTION_KEY"] != old_key and data["ENCRYPTION_OLD_KEYS"] == [old_key]
    # What a restarted process would load from the file reads the rotated value with the new key alone.
    ring = Keyring.from_encoded(data["ENCRYPTION_KEY"])
    assert stored_key_id(raw_column(account, "api_secret")) == ring.current_id
    associated = f"exchanges.exchangeaccount:{account.pk}:api_secret"
    assert ring.decrypt(raw_column(account, "api_secret"), associated) == SECRET


@pytest.mark.django_db
def test_generate_rotation_refused_outside_development(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="only manages the development key file"):
        call_command("rotate_encryption_key", "--generate", stdout=io.StringIO())


def test_generate_encryption_key_prints_a_valid_key():
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_encryption_key", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert "ENCRYPTION_OLD_KEYS" in err.getvalue()


@pytest.mark.django_db
def test_dumpdata_backup_restores_with_loaddata(user, tmp_path, settings):
    """Issue 9, item 5: dumpdata wrote the ciphertext but loaddata failed (0 rows): a backup that cannot be
    restored is lost data. The dump holds only ciphertext; the restore brings back the same readable secrets."""
    accounts = [make_account(user, label=f"acct{i}", api_secret=f"secret-number-{i:04d}-abcdef",
                             passphrase="pass-phrase-123456" if i else "") for i in range(3)]
    stored = {a.pk: raw_column(a, "api_secret") for a in accounts}
    backup = tmp_path / "backup.json"
    call_command("dumpdata", "auth.user", "exchanges.exchangeaccount", output=str(backup), stdout=io.StringIO())
    dumped = backup.read_text()
    assert SECRET not in dumped and "secret-number-0001" not in dumped and "pass-phrase-123456" not in dumped
    assert all(value in dumped for value in stored.values())

    ExchangeAccount.objects.all().delete()
    user.delete()
    out = io.StringIO()
    call_command("loaddata", str(backup), stdout=out)
    assert "Installed 4 object(s)" in out.getvalue()
    assert ExchangeAccount.objects.count() == 3
    for i, account in enumerate(accounts):
        restored = fresh(account)
        assert raw_column(restored, "api_secret") == stored[account.pk]  # the very same ciphertext
        assert restored.api_secret.reveal() == f"secret-number-{i:04d}-abcdef"
        assert (restored.passphrase.reveal() if restored.passphrase else "") == ("pass-phrase-123456" if i else "")


@pytest.mark.django_db
def test_a_backup_restores_even_without_the_key_and_reads_once_it_is_back(user, tmp_path, settings):
    account = make_account(user)
    backup = tmp_path / "backup.json"
    call_command("dumpdata", "auth.user", "exchanges.exchangeaccount", output=str(backup), stdout=io.StringIO())
    ExchangeAccount.objects.all().delete()
    user.delete()
    key = settings.ENCRYPTION_KEY
    settings.ENCRYPTION_KEY = new_encryption_key()  # restored on a machine where the key is not set yet
    call_command("loaddata", str(backup), stdout=io.StringIO())
    assert fresh(account).unreadable_secrets() == ["api_key", "api_secret"]
    settings.ENCRYPTION_KEY = key
    assert fresh(account).api_secret.reveal() == SECRET


@pytest.mark.django_db
def test_a_fixture_with_plaintext_in_a_secret_field_is_refused(tmp_path):
    fixture = tmp_path / "bad.json"
    fixture.write_text(json.dumps([{"model": "exchanges.exchangeaccount", "pk": "4f9e0d3c-1b2a-4c5d-8e7f-0a1b2c3d4e5f",
                                    "fields": {"owner": 1, "exchange_id": "binance", "label": "x", "mode": "live",
                                               "api_key": "plaintext-key-in-a-fixture", "api_secret": ""}}]))
    from django.core.serializers.base import DeserializationError

    with pytest.raises(DeserializationError, match="takes an encrypted value"):
        call_command("loaddata", str(fixture), stdout=io.StringIO())
    assert ExchangeAccount.objects.count() == 0
