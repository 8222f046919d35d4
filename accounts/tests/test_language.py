"""The language choice: the switcher saves it on the profile (and the cookie), the Settings page too,
Accept-Language picks the first one of a new visitor, and a saved choice wins over the browser's."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.language import language_of
from accounts.models import Profile
from bots.tests.factories import make_user

pytestmark = pytest.mark.django_db


def lang_of(page: str) -> str:
    start = page.index('<html lang="') + len('<html lang="')
    return page[start:page.index('"', start)]


def test_a_new_visitor_gets_the_first_language_of_accept_language(client):
    page = client.get(reverse("accounts:login"), headers={"accept-language": "th-TH,th;q=0.9,en;q=0.8"})
    assert lang_of(page.content.decode()) == "th"
    page = client.get(reverse("accounts:login"), headers={"accept-language": "de-DE,ja;q=0.8"})
    assert lang_of(page.content.decode()) == "ja"
    page = client.get(reverse("accounts:login"), headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert lang_of(page.content.decode()) == "zh-hans"
    page = client.get(reverse("accounts:login"), headers={"accept-language": "de-DE"})
    assert lang_of(page.content.decode()) == "en"


def test_an_anonymous_choice_is_kept_in_the_cookie(client):
    response = client.post(reverse("set_language"), {"language": "ja", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ja"
    page = client.get(reverse("accounts:login"), headers={"accept-language": "th"}).content.decode()
    assert lang_of(page) == "ja"  # the choice wins over the browser's


def test_the_switcher_saves_the_choice_on_the_profile_and_it_wins_over_the_browser(client):
    alice = make_user("alice")
    client.force_login(alice)
    page = client.get(reverse("bots:dashboard")).content.decode()
    assert 'id="language-switcher"' in page and f'action="{reverse("set_language")}"' in page
    response = client.post(reverse("set_language"), {"language": "th", "next": "/bots/"})
    assert response.status_code == 302 and response["Location"] == "/bots/"
    assert Profile.objects.get(user=alice).language == "th"
    assert language_of(alice) == "th"
    # Another browser (no cookie, English Accept-Language) still gets Thai once logged in.
    client.cookies.clear()
    client.force_login(alice)
    page = client.get(reverse("bots:dashboard"), headers={"accept-language": "en"}).content.decode()
    assert lang_of(page) == "th"


def test_an_unknown_language_changes_nothing(client):
    alice = make_user("alice")
    Profile.objects.create(user=alice, language="ja")
    client.force_login(alice)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert Profile.objects.get(user=alice).language == "ja"
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_the_switcher_only_redirects_to_this_site(client):
    response = client.post(reverse("set_language"), {"language": "th", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_settings_page_saves_the_language(client):
    alice = make_user("alice")
    client.force_login(alice)
    page = client.get(reverse("accounts:settings"), headers={"accept-language": "ja"}).content.decode()
    assert 'name="language"' in page and '<option value="ja" selected>' in page  # the page's language, suggested
    response = client.post(reverse("accounts:settings"), {"language": "zh-hans", "time_zone": "Asia/Bangkok"})
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).language == "zh-hans"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # Without the field (an older form), the saved language stays.
    client.post(reverse("accounts:settings"), {"time_zone": "UTC"})
    assert Profile.objects.get(user=alice).language == "zh-hans"


def test_a_choice_made_before_logging_in_is_adopted_by_a_profile_without_one(client):
    alice = make_user("alice")
    client.post(reverse("set_language"), {"language": "th", "next": "/"})
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": "a-long-password-1"})
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).language == "th"
    # A saved choice is not overwritten by a cookie from another time.
    client.post(reverse("accounts:logout"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    client.post(reverse("accounts:login"), {"username": "alice", "password": "a-long-password-1"})
    assert Profile.objects.get(user=alice).language == "th"


def test_language_of_a_user_without_a_choice_is_english():
    assert language_of(make_user("bob")) == "en"
    assert language_of(None) == "en"
