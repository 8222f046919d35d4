"""The Telegram commands of a linked chat, each a registered handler (telegram_bot.registry).

Reading commands answer from telegram_bot.reports. Bot changes go through bots.control, the one service
for a bot's state (source "telegram", the linked user as the actor); /stopentry and /resume_entries
through bots.entries. Orders, closes, cancels and alerts wait for the command service (issue 11).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bots import control, entries
from bots.models import Bot
from telegram_bot import linking, reports
from telegram_bot.registry import COMMANDS, CommandRequest, command

SOURCE = "telegram"


def _number(args: str, *, default: int | None, low: int, high: int, usage: str) -> int | None | str:
    """The optional whole-number argument, or the usage text (a str) when it is not one in range."""
    text = args.strip()
    if not text:
        return default
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return _("Usage: %(usage)s (a whole number from %(low)d to %(high)d).") % {"usage": usage, "low": low,
                                                                               "high": high}


@command("status", gettext_lazy("your bots, open positions and today's P&L"), order=10)
def status(request: CommandRequest) -> str:
    return reports.status(request.user)


@command("profit", gettext_lazy("closed trades and realised P&L (all time, or the last N days)"), "[days]",
         order=20)
def profit(request: CommandRequest) -> str:
    days = _number(request.args, default=None, low=1, high=3650, usage="/profit [days]")
    return days if isinstance(days, str) else reports.profit(request.user, days)


@command("daily", gettext_lazy("realised P&L per day (default the last 7 days)"), "[days]", order=30)
def daily(request: CommandRequest) -> str:
    days = _number(request.args, default=7, low=1, high=60, usage="/daily [days]")
    return days if isinstance(days, str) else reports.daily(request.user, days)


@command("balance", gettext_lazy("equity of each bot and the balances of your exchange accounts"), order=40)
def balance(request: CommandRequest) -> str:
    return reports.balance(request.user)


@command("trades", gettext_lazy("open positions and the latest closed trades (default 10)"), "[n]", order=50)
def trades(request: CommandRequest) -> str:
    count = _number(request.args, default=10, low=1, high=50, usage="/trades [n]")
    return count if isinstance(count, str) else reports.trades(request.user, count)


@command("bots", gettext_lazy("your bots with their state and equity"), order=60)
def bots(request: CommandRequest) -> str:
    return reports.bots(request.user)


def find_bot(user, name: str) -> tuple[Bot | None, str]:
    """The user's bot called `name` (any case; "#12" by id), or None and why not."""
    name = name.strip()
    if not name:
        return None, _("Which bot? Give its name, e.g. /stop_bot rsi bot (/bots lists them).")
    mine = Bot.objects.for_user(user).select_related("exchange_account")
    if name.startswith("#") and name[1:].isdigit():
        found = list(mine.filter(pk=int(name[1:])))
    else:
        found = list(mine.filter(name__iexact=name))
    if not found:
        return None, _("You have no bot called %(name)s. /bots lists them.") % {"name": name[:100]}
    if len(found) > 1:
        ids = ", ".join(f"#{b.pk}" for b in found)
        return None, _("Several of your bots are called %(name)s: name one by its number (%(ids)s).") % {
            "name": name[:100], "ids": ids}
    return found[0], ""


def _control(request: CommandRequest, action: str) -> str:
    bot, problem = find_bot(request.user, request.args)
    if bot is None:
        return problem
    try:
        bot = control.ACTIONS[action](bot, actor=request.user, source=SOURCE)
    except control.BotControlError as exc:
        return str(exc)
    return _("%(name)s: %(status)s.") % {"name": bot.name, "status": bot.get_status_display()}


@command("start_bot", gettext_lazy("start a stopped bot"), "NAME", order=70)
def start_bot(request: CommandRequest) -> str:
    return _control(request, "start")


@command("stop_bot", gettext_lazy("stop a bot (its open position stays open)"), "NAME", order=71)
def stop_bot(request: CommandRequest) -> str:
    return _control(request, "stop")


@command("pause", gettext_lazy("pause a running bot"), "NAME", order=72)
def pause(request: CommandRequest) -> str:
    return _control(request, "pause")


@command("resume", gettext_lazy("resume a paused or halted bot"), "NAME", order=73)
def resume(request: CommandRequest) -> str:
    return _control(request, "resume")


@command("stopentry", gettext_lazy("no new positions for any of your bots (exits still happen)"), order=80)
def stopentry(request: CommandRequest) -> str:
    if entries.stop_entries(request.user, source=SOURCE):
        return _("New entries are stopped for all your bots. Open positions keep their stop-loss and "
                 "take-profit. /resume_entries allows entries again.")
    return _("New entries were already stopped. /resume_entries allows them again.")


@command("resume_entries", gettext_lazy("allow new positions again after /stopentry"), order=81)
def resume_entries(request: CommandRequest) -> str:
    if entries.resume_entries(request.user, source=SOURCE):
        return _("New entries are allowed again for all your bots.")
    return _("New entries were not stopped.")


@command("unlink", gettext_lazy("unlink this chat from your account"), order=90)
def unlink(request: CommandRequest) -> str:
    linking.unlink_chat(request.link.telegram_user_id)
    return _("This chat is unlinked: it gets no more messages and can do nothing until you link it again "
             "from the Settings page.")


def help_text() -> str:
    lines = [_("Commands:")]
    for entry in sorted(COMMANDS.values(), key=lambda c: (c.order, c.name)):
        usage = f" {entry.usage}" if entry.usage else ""
        lines.append(f"/{entry.name}{usage} — {entry.help}")
    lines.append(_("Amounts are in each market's currency; times in your time zone (Settings). A replay bot's "
                   "trades carry its replay clock's dates."))
    return "\n".join(lines)


@command("help", gettext_lazy("this list"), order=100)
def help_command(request: CommandRequest) -> str:
    return help_text()


@command("start", gettext_lazy("the welcome message"), order=1)
def start(request: CommandRequest) -> str:
    return _("Hello %(name)s, this chat is linked to your account.") % {"name": request.user.get_username()} \
        + "\n\n" + help_text()
