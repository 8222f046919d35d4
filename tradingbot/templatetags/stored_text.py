"""{{ event.message|shown }}: a text stored in English, in the reader's language (tradingbot.stored_text)."""

from django import template

from tradingbot.stored_text import shown as shown_text

register = template.Library()


@register.filter
def shown(text):
    return shown_text(text)
