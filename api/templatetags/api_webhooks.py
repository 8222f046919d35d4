"""{% bot_webhook bot %}: the external-signals card of a bot page (URL, counts of accepted, duplicate and refused
alerts, the last refusal, and the button that makes a new URL and secret)."""

from django import template

from api.models import WebhookAlert, WebhookEndpoint

register = template.Library()


@register.inclusion_tag("api/bot_webhook.html", takes_context=True)
def bot_webhook(context, bot, new_secret=None):
    endpoint = WebhookEndpoint.objects.filter(bot=bot).first() if bot.pk else None
    request = context.get("request")
    url = ""
    if endpoint is not None and request is not None:
        url = request.build_absolute_uri(f"/api/v1/webhooks/{endpoint.hook_id}")
    recent = WebhookAlert.objects.filter(endpoint=endpoint)[:5] if endpoint else []
    return {"bot": bot, "endpoint": endpoint, "url": url, "recent": recent, "new_secret": new_secret,
            "csrf_token": context.get("csrf_token"),
            "webhook_mode": bot.signal_source == "webhook"}
