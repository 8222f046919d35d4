"""Bot changes as commands: start/stop/pause/resume (bots.control does the state change), edit, clone,
archive (or restore), delete, and the manual-trading limits of an account.

Editing: a stopped bot's settings all change (its market, account and mode only while it holds no position
and no open orders); a running, paused or halted bot's risk limits and stake only, used from its next candle.
The bot form (bots.forms.BotForm) validates every change, whichever door it comes from.
"""

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from bots import control
from bots.forms import BotForm
from bots.models import Bot, BotEvent, Order, Position
from commands.definitions import ArchiveBot, CloneBot, ControlBot, DeleteBot, EditBot, SetManualLimits
from commands.models import ManualLimits
from commands.service import Done, Plan, Refusal, RunContext, handles
from exchanges.models import ExchangeAccount, SimWallet

ACTIVE = (Bot.Status.RUNNING, Bot.Status.PAUSED, Bot.Status.HALTED)
WHILE_RUNNING = ("stake", *BotForm.RISK_FIELDS)
WHERE_FIELDS = ("exchange_account", "symbol", "mode")


def owned_bot(user, bot_id, *, archived_ok: bool = False) -> Bot:
    bots = Bot.objects.for_user(user).filter(kind=Bot.Kind.STRATEGY).select_related("exchange_account", "strategy")
    bot = bots.filter(pk=bot_id).first()
    if bot is None or (bot.archived_at is not None and not archived_ok):
        raise Refusal(_("No such bot."), "not_found")
    return bot


def holds_something(bot: Bot) -> str:
    """Why the bot cannot be archived, deleted or moved to another market ("" when it can)."""
    if Position.objects.filter(bot=bot, status=Position.Status.OPEN).exists():
        return _("it has an open position (close it first)")
    if Order.objects.filter(bot=bot, status__in=[Order.Status.OPEN, *Order.UNSETTLED]).exists():
        return _("it has open orders (cancel them first)")
    return ""


@handles(ControlBot)
class ControlBotHandler:
    def prepare(self, user, cmd: ControlBot) -> Plan:
        bot = owned_bot(user, cmd.bot_id)
        verbs = {"start": _("Start %(bot)s."), "stop": _("Stop %(bot)s."), "pause": _("Pause %(bot)s."),
                 "resume": _("Resume %(bot)s.")}
        return Plan(cmd, verbs[cmd.action] % {"bot": bot.name}, context={"bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        bot = plan.context["bot"]
        try:
            bot = control.ACTIONS[plan.command.action](bot, actor=ctx.actor, source=ctx.door)
        except control.BotControlError as exc:
            raise Refusal(str(exc), "not_possible_now", {"status": Bot.objects.get(pk=bot.pk).status})
        return Done(_("%(bot)s: %(status)s.") % {"bot": bot.name, "status": bot.get_status_display().lower()},
                    {"bot_id": bot.pk, "status": bot.status})


def bot_form_data(bot: Bot, changes: dict) -> dict:
    """The bot form's data for `bot` with `changes` applied (model values in, form values out), so the form
    validates a change from any door exactly as it validates the page."""
    form = BotForm(user=bot.owner)
    current = model_to_dict(bot, fields=list(form.fields))
    data = {}
    for name, field in form.fields.items():
        value = changes[name] if name in changes else current.get(name)
        if hasattr(value, "pk"):
            value = value.pk
        if value is None:
            continue
        data[name] = field.prepare_value(value)
    return data


@handles(EditBot)
class EditBotHandler:
    def prepare(self, user, cmd: EditBot) -> Plan:
        bot = owned_bot(user, cmd.bot_id)
        known = set(BotForm.Meta.fields)
        unknown = sorted(set(cmd.changes) - known)
        if unknown:
            raise Refusal(_("These are not bot settings: %(fields)s.") % {"fields": ", ".join(unknown)}, "invalid")
        changed = {name: value for name, value in cmd.changes.items()
                   if not _same(value, getattr(bot, f"{name}_id" if name in ("exchange_account", "strategy")
                                               else name))}
        if not changed:
            raise Refusal(_("Nothing to change."), "nothing_changed")
        if bot.status in ACTIVE:
            locked = sorted(set(changed) - set(WHILE_RUNNING))
            if locked:
                raise Refusal(_("%(bot)s is %(status)s: only its stake and risk limits can change while it runs. "
                                "Stop it first to change %(fields)s.")
                              % {"bot": bot.name, "status": bot.get_status_display().lower(),
                                 "fields": ", ".join(locked)}, "stop_first", {"fields": locked})
        if set(changed) & set(WHERE_FIELDS):
            why = holds_something(bot)
            if why:
                raise Refusal(_("The market, account or mode of %(bot)s cannot change: %(why)s.")
                              % {"bot": bot.name, "why": why}, "holds_position")
        form = BotForm(bot_form_data(bot, changed), instance=Bot.objects.get(pk=bot.pk), user=user)
        if not form.is_valid():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            first = next(iter(errors.items()))
            raise Refusal(_("%(field)s: %(error)s") % {"field": first[0], "error": first[1][0]}, "invalid",
                          {"errors": errors})
        sentence = _("Change %(bot)s: %(fields)s.") % {"bot": bot.name, "fields": ", ".join(sorted(changed))}
        return Plan(cmd, sentence, context={"form": form, "bot": bot, "changed": sorted(changed)})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        form, bot = plan.context["form"], plan.context["bot"]
        with transaction.atomic():
            saved = form.save()
            BotEvent.objects.create(bot=saved, kind=BotEvent.Kind.SETTINGS, source=ctx.door,
                                    actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
                                    message=gettext_noop("Settings changed: %(fields)s.") % {
                                        "fields": ", ".join(plan.context["changed"])},
                                    data={"changed": plan.context["changed"]})
        from bots.live import publish_bot_update

        publish_bot_update(bot.pk)
        return Done(_("Saved %(bot)s.") % {"bot": saved.name}, {"bot_id": saved.pk,
                                                                "changed": plan.context["changed"]})


def _same(a, b) -> bool:
    from decimal import Decimal, InvalidOperation

    a, b = (a.pk if hasattr(a, "pk") else a), (b.pk if hasattr(b, "pk") else b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return str(a) == str(b)


COPIED = tuple(name for name in BotForm.Meta.fields if name != "name")


@handles(CloneBot)
class CloneBotHandler:
    def prepare(self, user, cmd: CloneBot) -> Plan:
        bot = owned_bot(user, cmd.bot_id, archived_ok=True)
        taken = set(Bot.objects.for_user(user).values_list("name", flat=True))
        name = cmd.new_name or _("%(name)s (copy)") % {"name": bot.name}
        if cmd.new_name and name in taken:
            raise Refusal(_("You already have a bot with this name."), "invalid")
        base, n = name[:90], 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
        return Plan(cmd, _("Copy %(bot)s as %(name)s.") % {"bot": bot.name, "name": name},
                    context={"bot": bot, "name": name})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        bot = plan.context["bot"]
        copy = Bot.objects.create(owner=user, name=plan.context["name"],
                                  **{name: getattr(bot, name) for name in COPIED})
        BotEvent.objects.create(bot=copy, kind=BotEvent.Kind.SETTINGS, source=ctx.door,
                                actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
                                message=gettext_noop("Created as a copy of %(bot)s (bot %(id)s).") % {
                                    "bot": bot.name, "id": bot.pk}, data={"copy_of": bot.pk})
        return Done(_("Created %(name)s, a stopped copy of %(bot)s.") % {"name": copy.name, "bot": bot.name},
                    {"bot_id": copy.pk})


@handles(ArchiveBot)
class ArchiveBotHandler:
    def prepare(self, user, cmd: ArchiveBot) -> Plan:
        bot = owned_bot(user, cmd.bot_id, archived_ok=True)
        if cmd.restore:
            if bot.archived_at is None:
                raise Refusal(_("%(bot)s is not archived.") % {"bot": bot.name}, "not_archived")
            return Plan(cmd, _("Restore %(bot)s from the archive.") % {"bot": bot.name}, context={"bot": bot})
        if bot.archived_at is not None:
            raise Refusal(_("%(bot)s is archived already.") % {"bot": bot.name}, "archived")
        if bot.status in ACTIVE:
            raise Refusal(_("Stop %(bot)s before archiving it.") % {"bot": bot.name}, "stop_first")
        why = holds_something(bot)
        if why:
            raise Refusal(_("%(bot)s cannot be archived: %(why)s.") % {"bot": bot.name, "why": why}, "holds_position")
        return Plan(cmd, _("Archive %(bot)s (its trades stay in your P&L history).") % {"bot": bot.name},
                    context={"bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        bot = plan.context["bot"]
        archived_at = None if plan.command.restore else timezone.now()
        Bot.objects.filter(pk=bot.pk).update(archived_at=archived_at)
        BotEvent.objects.create(bot=bot, kind=BotEvent.Kind.SETTINGS, source=ctx.door,
                                actor=ctx.actor if getattr(ctx.actor, "pk", None) else None,
                                message=gettext_noop("Restored from the archive.") if archived_at is None
                                else gettext_noop("Archived."))
        message = (_("%(bot)s is back in your bot list.") if archived_at is None
                   else _("%(bot)s is archived; its trades stay in your P&L history.")) % {"bot": bot.name}
        return Done(message, {"bot_id": bot.pk})


@handles(DeleteBot)
class DeleteBotHandler:
    def prepare(self, user, cmd: DeleteBot) -> Plan:
        bot = owned_bot(user, cmd.bot_id, archived_ok=True)
        if bot.status in ACTIVE:
            raise Refusal(_("Stop %(bot)s before deleting it.") % {"bot": bot.name}, "stop_first")
        why = holds_something(bot)
        if why:
            raise Refusal(_("%(bot)s cannot be deleted: %(why)s.") % {"bot": bot.name, "why": why}, "holds_position")
        trades = Position.objects.filter(bot=bot).count()
        return Plan(cmd, _("Delete %(bot)s and its %(trades)s trade(s) for good.") % {"bot": bot.name,
                                                                                      "trades": trades},
                    context={"bot": bot})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        bot = plan.context["bot"]
        with transaction.atomic():
            SimWallet.objects.filter(key=bot.wallet_key).delete()
            bot.delete()
        return Done(_("Deleted %(bot)s.") % {"bot": bot.name}, {"bot_id": plan.command.bot_id})


@handles(SetManualLimits)
class SetManualLimitsHandler:
    def prepare(self, user, cmd: SetManualLimits) -> Plan:
        from commands.forms import ManualLimitsForm

        account = ExchangeAccount.objects.for_user(user).filter(pk=cmd.account_id).first()
        if account is None:
            raise Refusal(_("No such exchange account."), "not_found")
        unknown = sorted(set(cmd.limits) - set(ManualLimits.FIELDS))
        if unknown:
            raise Refusal(_("These are not manual-trading limits: %(fields)s.") % {"fields": ", ".join(unknown)},
                          "invalid")
        limits = ManualLimits.of(account)
        form = ManualLimitsForm(ManualLimitsForm.data_for(limits, cmd.limits), instance=limits)
        if not form.is_valid():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            first = next(iter(errors.items()))
            raise Refusal(_("%(field)s: %(error)s") % {"field": first[0], "error": first[1][0]}, "invalid",
                          {"errors": errors})
        return Plan(cmd, _("Set the manual-trading limits of %(account)s.") % {"account": account.label},
                    context={"form": form, "account": account})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        plan.context["form"].save()
        return Done(_("Saved the manual-trading limits of %(account)s.") % {"account": plan.context["account"].label})
