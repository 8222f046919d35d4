"""accounts.sessions: whether stored sessions still log their users in (what the live websocket re-checks)."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.sessions import session_authenticates, sessions_still_authenticating

pytestmark = pytest.mark.django_db


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_one_bulk_check_tells_live_sessions_from_ended_ones(django_user_model, django_assert_max_num_queries):
    users = [django_user_model.objects.create_user(f"user{n}", password=f"password-number-{n}x") for n in range(6)]
    keys = [session_of(u) for u in users]
    Session.objects.filter(session_key=keys[1]).delete()  # logged out elsewhere
    users[2].set_password("changed-password-22")  # password changed
    users[2].save()
    users[3].is_active = False  # deactivated
    users[3].save()
    Session.objects.filter(session_key=keys[4]).update(expire_date=timezone.now() - timedelta(seconds=1))  # expired
    pairs = {(key, user.pk) for key, user in zip(keys, users, strict=True)} | {(keys[5], users[0].pk)}  # wrong user
    with django_assert_max_num_queries(2):
        valid = sessions_still_authenticating(pairs)
    assert valid == {(keys[0], users[0].pk), (keys[5], users[5].pk)}
    # The single-session check agrees with the bulk one.
    for key, user_id in pairs:
        assert session_authenticates(key, user_id) == ((key, user_id) in valid)
