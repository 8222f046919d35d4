"""Admin for staff who are not superusers: only their own rows, which they cannot hand to anyone else, and no
django-q2 admin (other users' task results, schedules that run any Python function in the worker)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_q.models import Schedule, Success

from bots.models import Bot, LiveMessage
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from exchanges.models import ExchangeAccount
from strategies.models import StrategyConfig

pytestmark = pytest.mark.django_db


def staff_with_every_permission(username="alice"):
    user = make_user(username)
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client = Client()
    client.force_login(user)
    return user, client


def superuser_client():
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="root-password-12345")
    client = Client()
    client.force_login(root)
    return client


def test_django_q_admin_is_for_superusers_only():
    """Issue 9, item 11: staff with django_q permissions could read every user's task results and schedule any
    Python function in the worker."""
    Success.objects.create(id="0" * 32, name="another-users-task", func="strategies.tasks.run_backtest",
                           started="2026-01-01T00:00Z", stopped="2026-01-01T00:00:01Z", success=True,
                           result="another user's result")
    _alice, client = staff_with_every_permission()
    index = client.get("/admin/").content.decode()
    assert "django_q" not in index and "Scheduled tasks" not in index
    for url in ("/admin/django_q/", "/admin/django_q/schedule/", "/admin/django_q/schedule/add/",
                "/admin/django_q/success/", "/admin/django_q/failure/"):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "another-users-task" not in response.content.decode()
    before = Schedule.objects.count()
    client.post("/admin/django_q/schedule/add/", {"func": "os.system", "args": "'touch /tmp/pwned'",
                                                  "schedule_type": "O", "repeats": "-1"})
    assert Schedule.objects.count() == before
    root = superuser_client()
    assert root.get("/admin/django_q/schedule/").status_code == 200
    assert "another-users-task" in root.get("/admin/django_q/success/").content.decode()


@pytest.mark.parametrize("kind", ["bot", "exchangeaccount", "strategyconfig"])
def test_staff_cannot_hand_their_row_to_another_user(kind):
    """Issue 9, item 12: the owner was editable and its drop-down listed every username."""
    alice, client = staff_with_every_permission()
    bob = make_user("bob")
    bot = make_bot(alice)
    row = {"bot": bot, "exchangeaccount": bot.exchange_account, "strategyconfig": bot.strategy}[kind]
    app = {"bot": "bots", "exchangeaccount": "exchanges", "strategyconfig": "strategies"}[kind]
    url = f"/admin/{app}/{kind}/{row.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="owner"' not in page and ">bob<" not in page
    form = {"owner": str(bob.pk), "name": "renamed", "label": "renamed", "exchange_id": "binance", "mode": "paper",
            "strategy": "rsi_cross", "params": "{}", "exchange_account": str(bot.exchange_account.pk),
            "symbol": "BTC/USDT", "timeframe": "5m", "stake": "0.1", "starting_balance": "10000", "fee": "0.001",
            "max_position_pct": "0.1", "daily_loss_limit_pct": "0.05", "stop_loss_pct": "0.02",
            "take_profit_pct": "0.06", "trailing_stop_pct": "0", "max_drawdown_pct": "0.25",
            "max_consecutive_losses": "5", "loss_cooldown_minutes": "60", "max_orders_per_hour": "20",
            "max_open_positions": "5", "replay_speed": "300"}
    client.post(url, form)
    row.refresh_from_db()
    assert row.owner == alice
    assert not Bot.objects.filter(owner=bob).exists()
    assert not ExchangeAccount.objects.filter(owner=bob).exists() and not StrategyConfig.objects.filter(owner=bob)


def test_staff_adding_a_row_owns_it_whatever_is_posted():
    alice, client = staff_with_every_permission()
    bob = make_user("bob")
    page = client.get("/admin/strategies/strategyconfig/add/").content.decode()
    assert 'name="owner"' not in page
    client.post("/admin/strategies/strategyconfig/add/", {"owner": str(bob.pk), "name": "mine", "strategy": "rsi_cross",
                                                           "params": "{}"})
    assert StrategyConfig.objects.get(name="mine").owner == alice


def test_superuser_still_chooses_the_owner():
    alice = make_user("alice")
    make_user("bob")
    config = make_strategy_config(alice)
    root = superuser_client()
    assert 'name="owner"' in root.get(f"/admin/strategies/strategyconfig/{config.pk}/change/").content.decode()


def test_staff_cannot_delete_live_messages():
    """Issue 9, item 13: staff could delete any user's live messages."""
    _alice, client = staff_with_every_permission()
    bob = make_user("bob")
    message = LiveMessage.objects.create(group=f"user-{bob.pk}", html="<p>bob's update</p>")
    assert client.get(f"/admin/bots/livemessage/{message.pk}/delete/").status_code in (302, 403, 404)
    client.post(f"/admin/bots/livemessage/{message.pk}/delete/", {"post": "yes"})
    client.post("/admin/bots/livemessage/", {"action": "delete_selected", "_selected_action": [message.pk],
                                             "post": "yes"})
    assert LiveMessage.objects.filter(pk=message.pk).exists()
    root = superuser_client()
    root.post(f"/admin/bots/livemessage/{message.pk}/delete/", {"post": "yes"})
    assert not LiveMessage.objects.filter(pk=message.pk).exists()


def test_staff_delete_stays_scoped_to_their_rows():
    _alice, client = staff_with_every_permission()
    bob = make_user("bob")
    bobs = make_account(bob, label="bob's paper")
    client.post(f"/admin/exchanges/exchangeaccount/{bobs.pk}/delete/", {"post": "yes"})
    client.post("/admin/exchanges/exchangeaccount/", {"action": "delete_selected", "_selected_action": [bobs.pk],
                                                      "post": "yes"})
    assert ExchangeAccount.objects.filter(pk=bobs.pk).exists()
