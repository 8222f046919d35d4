"""Sign-up, login, logout, password change, and login throttling."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse


@pytest.fixture(autouse=True)
def clean_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="correct-horse-battery")


@pytest.mark.django_db
def test_signup_logs_in_and_lands_on_dashboard(client):
    response = client.post(reverse("accounts:signup"), {
        "username": "newtrader", "email": "",
        "password1": "a-long-unique-pass-42", "password2": "a-long-unique-pass-42",
    })
    assert response.status_code == 302 and response.url == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and "newtrader" in dashboard.content.decode()


@pytest.mark.django_db
def test_signup_bad_input_is_a_form_error(client, alice):
    for data, field in (
        ({"username": "alice", "password1": "a-long-unique-pass-42", "password2": "a-long-unique-pass-42"}, "username"),
        ({"username": "bob", "password1": "a-long-unique-pass-42", "password2": "different-pass-43"}, "password2"),
        ({"username": "bob", "password1": "123", "password2": "123"}, "password2"),
        ({"username": "x" * 200, "password1": "a-long-unique-pass-42", "password2": "a-long-unique-pass-42"},
         "username"),
    ):
        response = client.post(reverse("accounts:signup"), data)
        assert response.status_code == 200 and field in response.context["form"].errors
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
def test_login_logout_and_password_change(client, alice):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    response = client.post(reverse("accounts:password_change"), {
        "old_password": "correct-horse-battery",
        "new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77",
    })
    assert response.status_code == 302
    client.post(reverse("accounts:logout"))
    assert client.get("/").status_code == 302  # logged out: sent to login
    assert not client.login(username="alice", password="correct-horse-battery")
    assert client.login(username="alice", password="brand-new-pass-77")


def failed_login(client, username, address="10.0.0.1"):
    return client.post(reverse("accounts:login"), {"username": username, "password": "wrong-password"},
                       REMOTE_ADDR=address)


@pytest.mark.django_db
def test_login_throttled_per_account(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = failed_login(client, "alice", address=f"10.0.0.{_}")
        assert "Too many failed logins" not in response.content.decode()
    # Even the right password from a fresh address is refused now, with a clear message.
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"},
                           REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    assert "Too many failed logins for this account or from this address" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_throttled_per_address(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for name in ("u1", "u2", "u3"):
        failed_login(client, name, address="10.1.1.1")
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"},
                           REMOTE_ADDR="10.1.1.1")
    assert "Too many failed logins" in response.content.decode()
    # Another address can still log in to the (unlocked) account.
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"},
                           REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 302


@pytest.mark.django_db
def test_throttle_lifts_after_the_window(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1
    failed_login(client, "alice")
    failed_login(client, "alice")
    assert "Too many failed" in failed_login(client, "alice").content.decode()
    import time

    time.sleep(2.1)
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"},
                           REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302


@pytest.mark.django_db
def test_below_the_limit_is_not_throttled(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    failed_login(client, "alice")
    failed_login(client, "alice")
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "correct-horse-battery"},
                           REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302
