"""A minimum-strength rule for passwords, for what Django's four validators let through.

Django's validators accept ten spaces, "aaaaaaaaaa" and the username doubled ("alicealice"). This one asks
for at least MIN_DISTINCT different characters, not mostly blanks, and enough left once the username and the
e-mail's local part are taken out.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_DISTINCT = 5
MIN_REMAINDER = 6  # characters left after removing the username / e-mail name


class MinimumStrengthValidator:
    def __init__(self, min_distinct: int = MIN_DISTINCT, min_remainder: int = MIN_REMAINDER):
        self.min_distinct = min_distinct
        self.min_remainder = min_remainder

    def validate(self, password: str, user=None) -> None:
        stripped = re.sub(r"\s+", "", password)
        if len(stripped) < self.min_remainder:
            raise ValidationError(_("This password is mostly spaces."), code="password_blank")
        if len(set(password.casefold())) < self.min_distinct:
            raise ValidationError(
                _("This password repeats too few characters: use at least %(count)d different ones."),
                code="password_repetitive", params={"count": self.min_distinct},
            )
        remainder = stripped.casefold()
        for attribute in self._names(user):
            remainder = remainder.replace(attribute, "")
        if len(remainder) < self.min_remainder:
            raise ValidationError(
                _("This password is mostly your username or e-mail address."), code="password_like_username",
            )

    @staticmethod
    def _names(user) -> list[str]:
        if user is None:
            return []
        names = [str(getattr(user, "username", "") or ""), str(getattr(user, "email", "") or "").split("@")[0]]
        # Longest first; names of 1-2 characters would remove letters from any password.
        return sorted({re.sub(r"\s+", "", n).casefold() for n in names if len(n) >= 3}, key=len, reverse=True)

    def get_help_text(self) -> str:
        return _(
            "Your password must use at least %(count)d different characters and be more than your username repeated."
        ) % {"count": self.min_distinct}
