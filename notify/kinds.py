"""The kinds of notification a user can switch on, silence or off, and the texts they are sent as.

A kind is a field of NotificationSettings (its default there); a text key renders one message, in the
language active at sending time, from the plain params `notify()` was given. Another app adds a text
key with `@text("key")` (alert_fired is ready for the price alerts of the command service).
"""

from collections.abc import Callable

from django.utils.translation import gettext as _

from notify.models import NotificationSettings

KINDS = ("order_filled", "bot_problem", "exit_hit", "alert_fired", "daily_summary")


def label(kind: str) -> str:
    return str(NotificationSettings._meta.get_field(kind).verbose_name)


TEXTS: dict[str, Callable[[dict], str]] = {}


def text(key: str):
    def register(render):
        TEXTS[key] = render
        return render
    return register


def render(text_key: str, params: dict) -> str:
    return TEXTS[text_key](params)


def _pnl(params: dict) -> str:
    return (" " + _("Trade P&L: %(pnl)s.") % params) if params.get("pnl") else ""


@text("buy_filled")
def buy_filled(p: dict) -> str:
    return _("%(bot)s: bought %(amount)s at %(price)s (fee %(fee)s).") % p


@text("sell_filled")
def sell_filled(p: dict) -> str:
    return _("%(bot)s: sold %(amount)s at %(price)s (fee %(fee)s).") % p + _pnl(p)


EXIT_LABELS = {"stop_loss": lambda: _("stop-loss hit"), "take_profit": lambda: _("take-profit hit"),
               "trailing_stop": lambda: _("trailing stop hit")}


@text("exit_hit")
def exit_hit(p: dict) -> str:
    what = EXIT_LABELS.get(p.get("reason"), lambda: p.get("reason", ""))()
    return _("%(bot)s: %(what)s, sold %(amount)s at %(price)s (fee %(fee)s).") % {**p, "what": what} + _pnl(p)


@text("bot_halted")
def bot_halted(p: dict) -> str:
    return _("%(bot)s is halted (%(rule)s): %(message)s") % p


@text("bot_error")
def bot_error(p: dict) -> str:
    return _("%(bot)s stopped with an error: %(reason)s") % p


@text("alert_fired")
def alert_fired(p: dict) -> str:
    direction = _("above") if p.get("direction") == "above" else _("below")
    return _("Alert: %(symbol)s is %(direction)s %(price)s (last %(last)s).") % {**p, "direction": direction}


@text("daily_summary")
def daily_summary(p: dict) -> str:
    return _("Daily summary, %(day)s") % p + "\n" + p.get("body", "")
