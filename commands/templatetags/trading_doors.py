"""`{% order_ticket account symbol scope %}`: the order ticket, for pages of other apps (the bot page)."""

from django import template

register = template.Library()


@register.inclusion_tag("commands/parts/ticket.html", takes_context=True)
def order_ticket(context, account, symbol="BTC/USDT", scope="bot", fixed_symbol=False):
    from commands.views import ticket_context

    return {**ticket_context(account, symbol, scope), "ticket_fixed_symbol": fixed_symbol,
            "csrf_token": context.get("csrf_token")}
