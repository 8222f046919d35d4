"""Free text (anything that is not a /command) from a linked chat goes here: the seam for the trading
assistant (issue 12), which will answer it, or turn it into a command to confirm. Not there yet."""

from django.utils.translation import gettext as _


def answer(link, text: str) -> str:
    return _("Free text is not available yet: the assistant is coming. /help lists the commands.")
