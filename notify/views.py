"""The notification section of the Settings page: per kind on / silent / off, and the summary's hour."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.settings_page import render_settings
from notify.forms import NotificationSettingsForm
from notify.models import NotificationSettings


def settings_context(request, form=None) -> dict:
    from telegram_bot import config
    from telegram_bot.models import TelegramLink

    return {
        "form": form or NotificationSettingsForm(instance=NotificationSettings.for_user(request.user)),
        "telegram_enabled": config.enabled(),
        "linked": TelegramLink.objects.for_user(request.user).exists(),
    }


@login_required
@require_POST
def save_settings(request):
    form = NotificationSettingsForm(request.POST, instance=NotificationSettings.for_user(request.user))
    if not form.is_valid():
        return render_settings(request, status=400, notifications=settings_context(request, form))
    form.instance.user = request.user
    form.save()
    messages.success(request, _("Notification settings saved."))
    return redirect("accounts:settings")
