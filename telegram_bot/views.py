"""The Telegram webhook (Telegram POSTs each update here), and the Settings page's link / unlink buttons."""

import hmac
import json
import logging

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, HttpResponseNotFound
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.settings_page import render_settings
from telegram_bot import config, linking
from telegram_bot.models import TelegramLink

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@csrf_exempt
@require_POST
async def webhook(request):
    """One update from Telegram: refused (403) unless it carries our secret token (compared in constant time);
    404 while the webhook is not configured (no bot token or no TELEGRAM_WEBHOOK_SECRET)."""
    # python-telegram-bot costs 0.2 s of every process's start-up: imported by the first webhook call.
    from telegram import Update

    from telegram_bot import client
    from telegram_bot.actions import perform_all
    from telegram_bot.dispatcher import dispatch

    secret = config.webhook_secret()
    if not config.enabled() or not secret:
        return HttpResponseNotFound()
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), secret.encode()):
        log.warning("Telegram webhook call refused: wrong or missing %s header", SECRET_HEADER)
        return HttpResponseForbidden()
    try:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        update = Update.de_json(data, None)
    except Exception:  # JSON, or python-telegram-bot's parsing of a malformed update (any error class)
        return HttpResponseBadRequest("The body is not a Telegram update.")
    actions = await sync_to_async(dispatch)(update)
    if actions:
        async with client.open_bot() as bot:
            await perform_all(bot, actions)
    return HttpResponse(status=200)


def settings_context(request, new_link: linking.NewLink | None = None) -> dict:
    """The Telegram section of the Settings page."""
    return {
        "enabled": config.enabled(),
        "link": TelegramLink.objects.for_user(request.user).first(),
        "new_link": new_link,
        "start_command": f"/start {new_link.token}" if new_link else "",
    }


@login_required
@require_POST
def link(request):
    """A fresh one-time deep link, shown once on the page this answers with (only its hash is stored)."""
    if not config.enabled():
        messages.error(request, _("Telegram is not set up on this installation (TELEGRAM_BOT_TOKEN)."))
        return redirect("accounts:settings")
    new = linking.new_link(request.user)
    response = render_settings(request, telegram=settings_context(request, new_link=new))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def unlink(request):
    if linking.unlink_user(request.user):
        messages.success(request, _("Telegram is unlinked: that chat gets no more messages and can do nothing."))
    return redirect("accounts:settings")
