"""Masking of anything in a command that looks like a key or a secret, before the text is stored or sent.

A trader may paste an API key into the command box by mistake; it must not reach the audit table or an
LLM prompt. Long runs of letters, digits and key punctuation that mix letters and digits are masked
("sk-...", exchange keys, private keys, wallet seeds written as one token).
"""

import re

# Exchange keys are 32-64 characters; 24 leaves room for long bot names such as "btc_scalper_v2_2024".
_KEYLIKE = re.compile(r"(?<![A-Za-z0-9_\-+/=])[A-Za-z0-9_\-+/=]{24,}(?![A-Za-z0-9_\-+/=])")
MASK = "[hidden]"


def redact(text: str) -> tuple[str, int]:
    """(the text with key-like tokens masked, how many were masked)."""
    count = 0

    def mask(match: re.Match) -> str:
        nonlocal count
        token = match.group()
        if re.search(r"[A-Za-z]", token) and re.search(r"\d", token):
            count += 1
            return MASK
        return token

    return _KEYLIKE.sub(mask, text), count
