"""Rows the bots tests start from: a user, a paper exchange account, a strategy config and a bot."""

from django.contrib.auth import get_user_model

from bots.models import Bot
from exchanges.models import ExchangeAccount


def make_user(username="alice"):
    return get_user_model().objects.create_user(username=username, password="a-long-password-1")


def make_account(owner, label="paper", **fields):
    fields.setdefault("exchange_id", "binance")
    fields.setdefault("mode", ExchangeAccount.Mode.PAPER)
    account, _ = ExchangeAccount.objects.get_or_create(owner=owner, label=label, defaults=fields)
    return account


def make_strategy_config(owner, name="rsi cross", strategy="rsi_cross", params=None):
    from strategies.models import StrategyConfig

    config, _ = StrategyConfig.objects.get_or_create(
        owner=owner, name=name, defaults={"strategy": strategy, "params": params or {}}
    )
    return config


def make_bot(owner, name="rsi bot", account=None, **fields):
    fields.setdefault("symbol", "BTC/USDT")
    fields.setdefault("timeframe", "5m")
    if any(f.name == "strategy" for f in Bot._meta.fields) and "strategy" not in fields:
        fields["strategy"] = make_strategy_config(owner)
    return Bot.objects.create(owner=owner, name=name, exchange_account=account or make_account(owner), **fields)
