"""Pages of the api app: the API-token section of the Settings page (make one, shown once; revoke) and the
interactive API docs (django-ninja's bundled Swagger UI, served from our static files, no inline script)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.settings_page import render_settings
from api import tokens
from api.models import ApiToken

EXPIRY_CHOICES = [("30d", gettext_lazy("30 days")), ("90d", gettext_lazy("90 days")),
                  ("365d", gettext_lazy("1 year")), ("never", gettext_lazy("Never"))]


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What will use it, e.g. “my rebalancing script”."))
    scope = forms.ChoiceField(label=gettext_lazy("Scope"), choices=ApiToken.Scope.choices)
    expires = forms.ChoiceField(label=gettext_lazy("Expires after"), choices=EXPIRY_CHOICES, initial="90d")


def settings_context(request, new_token=None, form=None) -> dict:
    return {"tokens": ApiToken.objects.for_user(request.user).filter(revoked_at__isnull=True),
            "form": form or TokenForm(), "new_token": new_token}


@login_required
@require_POST
def create_token(request):
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            made = tokens.create_token(request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"],
                                       expires_in=tokens.parse_expiry(form.cleaned_data["expires"]))
        except tokens.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            response = render_settings(request, api_tokens=settings_context(request, new_token=made.raw))
            response["Cache-Control"] = "no-store"
            return response
    return render_settings(request, status=400, api_tokens=settings_context(request, form=form))


@login_required
@require_POST
def revoke_token(request, pk):
    if tokens.revoke(request.user, pk):
        messages.success(request, _("The token is revoked: it no longer works."))
    return redirect("accounts:settings")


@require_GET
def docs(request):
    """Swagger UI for /api/v1/openapi.json (the page is public, as the schema is; calls need a token)."""
    from ninja.openapi.docs import Swagger

    from api.v1 import api

    return Swagger(settings={"persistAuthorization": False}).render_page(request, api)


@login_required
@require_POST
def bot_webhook(request, pk):
    """Switch the bot to external signals with a new URL and secret (the secret shown once, on this answer)."""
    from django.shortcuts import render

    from api import webhooks
    from bots import live
    from bots.views import owned_bot

    bot = owned_bot(request, pk)
    if bot.is_manual:
        return redirect("bots:detail", bot.pk)
    try:
        made = webhooks.enable(bot, door="web", user=request.user)
    except webhooks.SwitchRefused as refused:
        messages.error(request, refused.outcome.message)
        return redirect("bots:detail", bot.pk)
    context = {**live.bot_page_context(bot), "webhook_secret": made.secret,
               "live_after": live.last_message_id(live.bot_group(bot.pk), live.notify_group(request.user.pk))}
    response = render(request, "bots/bot_detail.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def bot_webhook_off(request, pk):
    from api import webhooks
    from bots.views import owned_bot

    bot = owned_bot(request, pk)
    try:
        webhooks.disable(bot, door="web", user=request.user)
    except webhooks.SwitchRefused as refused:
        messages.error(request, refused.outcome.message)
        return redirect("bots:detail", bot.pk)
    messages.success(request, _("%(bot)s trades on its strategy's signals again; its webhook refuses alerts.")
                     % {"bot": bot.name})
    return redirect("bots:detail", bot.pk)
