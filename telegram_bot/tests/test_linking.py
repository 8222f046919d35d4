"""Linking a chat with the Settings page's one-time deep link, and unlinking from either side."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bots.tests.factories import make_user
from telegram_bot import linking
from telegram_bot.models import LinkToken, TelegramLink, hash_token
from telegram_bot.tests.chats import ALICE_TG, BOB_TG, linked_user, say, text

pytestmark = pytest.mark.django_db


def test_the_settings_page_makes_a_deep_link_that_links_the_chat_once(client, fake_telegram):
    alice = make_user("alice")
    client.force_login(alice)
    page = client.post(reverse("telegram_bot:link"))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert f"https://t.me/{fake_telegram.username}?start=" in html
    token = html.split("?start=", 1)[1].split('"', 1)[0]
    assert 20 < len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()
    # Only the hash is stored.
    row = LinkToken.objects.get(user=alice)
    assert row.token_hash == hash_token(token) and token not in str(LinkToken.objects.values().first())
    assert timedelta(minutes=9) < row.expires_at - timezone.now() <= timedelta(minutes=10)

    answer = text(say(fake_telegram, ALICE_TG, f"/start {token}", username="alice_tg", language_code="en"))
    assert answer.startswith("Linked to your account alice.") and "/status" in answer
    link = TelegramLink.objects.get(user=alice)
    assert (link.telegram_user_id, link.chat_id, link.username, link.active) == (ALICE_TG, ALICE_TG, "alice_tg", True)

    # The same token again, from anyone: refused, nothing changes.
    again = text(say(fake_telegram, BOB_TG, f"/start {token}"))
    assert "not valid any more" in again
    assert list(TelegramLink.objects.values_list("telegram_user_id", flat=True)) == [ALICE_TG]

    # The page now shows the link and an unlink button.
    html = client.get(reverse("accounts:settings")).content.decode()
    assert "Linked since" in html and "@alice_tg" in html and reverse("telegram_bot:unlink") in html


def test_an_expired_token_links_nothing(fake_telegram):
    alice = make_user("alice")
    token = linking.new_link(alice).token
    LinkToken.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "not valid any more" in text(say(fake_telegram, ALICE_TG, f"/start {token}"))
    assert not TelegramLink.objects.exists()
    assert LinkToken.objects.get(user=alice).used_at is None


def test_a_wrong_token_links_nothing(fake_telegram):
    make_user("alice")
    for token in ("nope", "x" * 65, "a" * 32):
        assert "not valid any more" in text(say(fake_telegram, ALICE_TG, f"/start {token}"))
    assert not TelegramLink.objects.exists()


def test_a_new_link_ends_the_older_unused_one(fake_telegram):
    alice = make_user("alice")
    first = linking.new_link(alice).token
    second = linking.new_link(alice).token
    assert "not valid any more" in text(say(fake_telegram, ALICE_TG, f"/start {first}"))
    assert text(say(fake_telegram, ALICE_TG, f"/start {second}")).startswith("Linked")


def test_a_telegram_account_linked_to_one_user_cannot_be_linked_to_a_second(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    bob = make_user("bob")
    bobs_token = linking.new_link(bob).token
    answer = text(say(fake_telegram, ALICE_TG, f"/start {bobs_token}"))
    assert "already linked to another user" in answer and "bob" not in answer and "alice" not in answer
    assert TelegramLink.objects.get(telegram_user_id=ALICE_TG).user == alice
    assert not TelegramLink.objects.filter(user=bob).exists()
    # Bob's token was not used up: bob can still link his own Telegram account with it.
    assert text(say(fake_telegram, BOB_TG, f"/start {bobs_token}")).startswith("Linked to your account bob")


def test_linking_a_new_telegram_account_replaces_the_users_old_link(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    token = linking.new_link(alice).token
    assert text(say(fake_telegram, BOB_TG, f"/start {token}")).startswith("Linked")
    assert list(TelegramLink.objects.values_list("user__username", "telegram_user_id")) == [("alice", BOB_TG)]
    assert "Link your account first" in text(say(fake_telegram, ALICE_TG, "/status"))


def test_a_deactivated_user_cannot_link_or_use_the_chat(fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    alice.is_active = False
    alice.save()
    assert "Link your account first" in text(say(fake_telegram, ALICE_TG, "/status"))
    carol = make_user("carol")
    token = linking.new_link(carol).token
    carol.is_active = False
    carol.save()
    assert "not valid any more" in text(say(fake_telegram, BOB_TG, f"/start {token}"))


def test_unlink_from_telegram(fake_telegram):
    linked_user("alice", ALICE_TG)
    assert "unlinked" in text(say(fake_telegram, ALICE_TG, "/unlink"))
    assert not TelegramLink.objects.exists()
    assert "Link your account first" in text(say(fake_telegram, ALICE_TG, "/status"))


def test_unlink_from_the_settings_page(client, fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    client.force_login(alice)
    assert client.get(reverse("telegram_bot:unlink")).status_code == 405  # a POST only
    response = client.post(reverse("telegram_bot:unlink"))
    assert response.status_code == 302
    assert not TelegramLink.objects.exists()
    assert "Link your account first" in text(say(fake_telegram, ALICE_TG, "/bots"))


def test_the_link_buttons_need_a_login_and_a_post(client, fake_telegram):
    assert client.post(reverse("telegram_bot:link")).status_code == 302
    assert not LinkToken.objects.exists()
    client.force_login(make_user("alice"))
    assert client.get(reverse("telegram_bot:link")).status_code == 405
    assert not LinkToken.objects.exists()


def test_a_link_page_still_works_when_telegram_cannot_be_reached(client, fake_telegram):
    """getMe fails: the page says what to send to the bot instead of a t.me link, and loads fast."""
    fake_telegram.stop()
    alice = make_user("alice")
    client.force_login(alice)
    html = client.post(reverse("telegram_bot:link")).content.decode()
    assert "t.me/" not in html and "/start " in html
    token = html.split("<code>/start ", 1)[1].split("<", 1)[0]
    assert LinkToken.objects.get(user=alice).token_hash == hash_token(token)
