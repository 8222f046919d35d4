"""Exchange-account pages: add, list, edit, delete; secrets never shown; other users get 404; bad input is refused."""

import logging

import pytest
from django.urls import reverse

from exchanges.models import ExchangeAccount

SECRET = "SeCrEt-9c1f77aa0b3e4d5f6a7b8c9d0e1f"
API_KEY = "ApiKey-public-5566778899aabbcc"
PASSPHRASE = "okx-passphrase-zz99"


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct-horse-battery")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="correct-horse-battery")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def form_data(**overrides):
    data = {"label": "Binance main", "exchange_id": "binance", "mode": "live",
            "api_key": API_KEY, "api_secret": SECRET, "passphrase": PASSPHRASE}
    data.update(overrides)
    return data


def assert_no_secret(content: bytes):
    text = content.decode("utf-8", "replace")
    for value in (SECRET, API_KEY, PASSPHRASE):
        assert value not in text


@pytest.mark.django_db
def test_add_list_detail_edit_delete(alice_client, alice, caplog):
    caplog.set_level(logging.DEBUG)
    response = alice_client.post(reverse("exchanges:create"), form_data())
    account = ExchangeAccount.objects.get(owner=alice)
    assert response.status_code == 302 and response.url == reverse("exchanges:detail", args=[account.pk])
    assert account.api_secret.reveal() == SECRET and account.passphrase.reveal() == PASSPHRASE

    for url in (reverse("exchanges:list"), reverse("exchanges:detail", args=[account.pk]),
                reverse("exchanges:edit", args=[account.pk]), reverse("exchanges:delete", args=[account.pk])):
        page = alice_client.get(url)
        assert page.status_code == 200
        assert_no_secret(page.content)
    detail = alice_client.get(reverse("exchanges:detail", args=[account.pk])).content.decode()
    assert "••••" + SECRET[-4:] in detail and "••••" + API_KEY[-4:] in detail

    # Edit without retyping secrets keeps them; typing a new one replaces it.
    alice_client.post(reverse("exchanges:edit", args=[account.pk]),
                      form_data(label="Renamed", api_key="", api_secret="", passphrase=""))
    account.refresh_from_db()
    assert account.label == "Renamed" and account.api_secret.reveal() == SECRET
    alice_client.post(reverse("exchanges:edit", args=[account.pk]),
                      form_data(label="Renamed", api_secret="a-brand-new-secret-value-1234"))
    account.refresh_from_db()
    assert account.api_secret.reveal() == "a-brand-new-secret-value-1234"

    alice_client.post(reverse("exchanges:delete", args=[account.pk]))
    assert not ExchangeAccount.objects.filter(pk=account.pk).exists()
    for record in caplog.records:
        assert SECRET not in record.getMessage() and API_KEY not in record.getMessage()


@pytest.mark.django_db
def test_paper_account_needs_no_keys(alice_client, alice):
    response = alice_client.post(reverse("exchanges:create"),
                                 form_data(mode="paper", api_key="", api_secret="", passphrase=""))
    assert response.status_code == 302
    account = ExchangeAccount.objects.get(owner=alice)
    assert account.mode == "paper" and account.api_key is None


@pytest.mark.django_db
def test_admin_shows_secrets_masked_and_not_editable(client, django_user_model, alice):
    admin_user = django_user_model.objects.create_superuser("root", password="correct-horse-battery-2")
    account = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="x", mode="live",
                                             api_key=API_KEY, api_secret=SECRET, passphrase=PASSPHRASE)
    client.force_login(admin_user)
    changelist = client.get(reverse("admin:exchanges_exchangeaccount_changelist"))
    change = client.get(reverse("admin:exchanges_exchangeaccount_change", args=[account.pk]))
    assert changelist.status_code == 200 and change.status_code == 200
    assert_no_secret(changelist.content)
    assert_no_secret(change.content)
    assert "••••" + SECRET[-4:] in change.content.decode()
    assert 'name="api_secret"' not in change.content.decode()  # no input to edit it in clear


@pytest.mark.django_db
def test_error_page_does_not_show_posted_secrets(alice_client, settings, monkeypatch):
    """Even Django's debug 500 page (DEBUG on) hides the posted keys."""
    settings.DEBUG = True
    alice_client.raise_request_exception = False

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after save")

    monkeypatch.setattr("exchanges.views.messages.success", boom)
    response = alice_client.post(reverse("exchanges:create"), form_data(), HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    assert b"injected failure after save" in response.content  # it is the technical page
    assert_no_secret(response.content)


@pytest.mark.django_db
def test_other_user_gets_404_everywhere(client, alice, bob):
    account = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="alice's", mode="live",
                                             api_key=API_KEY, api_secret=SECRET)
    client.force_login(bob)
    for name in ("exchanges:detail", "exchanges:edit", "exchanges:delete"):
        url = reverse(name, args=[account.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, form_data(label="stolen")).status_code == 404
    assert "alice's" not in client.get(reverse("exchanges:list")).content.decode()
    account.refresh_from_db()
    assert account.label == "alice's" and account.api_secret.reveal() == SECRET


@pytest.mark.django_db
def test_staff_user_sees_only_own_accounts_in_admin(client, django_user_model, alice):
    staff = django_user_model.objects.create_user("staff", password="correct-horse-battery", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="exchangeaccount"))
    account = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="alice-only", mode="paper")
    client.force_login(staff)
    changelist = client.get(reverse("admin:exchanges_exchangeaccount_changelist"))
    assert changelist.status_code == 200 and "alice-only" not in changelist.content.decode()
    change = client.get(reverse("admin:exchanges_exchangeaccount_change", args=[account.pk]))
    assert change.status_code in (302, 404)


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("exchanges:list"))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


BAD_INPUTS = {
    "unknown exchange": (form_data(exchange_id="coinbasepro-not-real"), "exchange_id", "not an exchange ccxt knows"),
    "empty label": (form_data(label=""), "label", "required"),
    "oversized label": (form_data(label="x" * 101), "label", "at most 100 characters"),
    "100 kB secret": (form_data(api_secret="s" * 100_000), "api_secret", "at most 512"),
    "control characters": (form_data(api_key="abc\x07def-ghijkl"), "api_key", "control or non-printable"),
    "live without keys": (form_data(api_key="", api_secret=""), "api_secret", "needed for live trading"),
    "bad mode": (form_data(mode="yolo"), "mode", "Select a valid choice"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_gives_form_errors_and_saves_nothing(alice_client, case):
    data, field, message = BAD_INPUTS[case]
    response = alice_client.post(reverse("exchanges:create"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert ExchangeAccount.objects.count() == 0
    assert SECRET not in response.content.decode()  # the secret is not echoed back into the form


@pytest.mark.django_db
def test_non_utf8_secret_is_refused(alice_client):
    body = (b"label=x&exchange_id=binance&mode=live&api_key=abcdefghijklmnop&api_secret=%FF%FEbad-bytes-here"
            b"&passphrase=")
    response = alice_client.post(reverse("exchanges:create"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "not valid UTF-8" in " ".join(response.context["form"].errors["api_secret"])
    assert ExchangeAccount.objects.count() == 0


@pytest.mark.django_db
def test_duplicate_label_is_a_form_error(alice_client, alice):
    ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="Binance main", mode="paper")
    response = alice_client.post(reverse("exchanges:create"), form_data())
    assert response.status_code == 200
    assert "already have" in " ".join(response.context["form"].errors["label"])
    assert ExchangeAccount.objects.count() == 1


@pytest.mark.django_db
def test_admin_cannot_create_with_clear_secret(client, django_user_model):
    """The admin add form has no secret inputs, so nothing can be posted in clear through it."""
    admin_user = django_user_model.objects.create_superuser("root", password="correct-horse-battery-2")
    client.force_login(admin_user)
    page = client.get(reverse("admin:exchanges_exchangeaccount_add")).content.decode()
    for name in ("api_key", "api_secret", "passphrase"):
        assert f'name="{name}"' not in page
