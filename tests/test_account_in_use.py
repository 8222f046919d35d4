"""Deleting an exchange account that bots still use is refused with a clear message, and nothing is lost."""

import pytest
from django.urls import reverse

from bots.models import Bot
from bots.tests.factories import make_account, make_bot, make_user
from exchanges.models import ExchangeAccount


@pytest.mark.django_db
def test_account_used_by_a_bot_is_not_deleted(client):
    alice = make_user()
    account = make_account(alice, label="Binance paper")
    make_bot(alice, name="my rsi bot", account=account)
    client.force_login(alice)
    response = client.post(reverse("exchanges:delete", args=[account.pk]), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "still used by 1 bot(s)" in page and "my rsi bot" in page and "nothing was deleted" in page
    assert ExchangeAccount.objects.filter(pk=account.pk).exists()
    assert Bot.objects.filter(name="my rsi bot", exchange_account=account).exists()
