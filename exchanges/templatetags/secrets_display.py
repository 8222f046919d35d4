"""{{ account|masked:"api_key" }}: the masked form of a stored secret (last 4 characters at most)."""

from django import template

register = template.Library()


@register.filter
def masked(account, field: str) -> str:
    return account.masked(field)
