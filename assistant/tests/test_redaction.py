"""Masking of key-like tokens in commands, before they are stored or sent to an LLM."""

from assistant.redaction import MASK, redact


def test_keys_are_masked_and_ordinary_words_names_and_numbers_are_not():
    key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"  # Binance-shaped
    text, hidden = redact(f"buy 0.1 btc, my key is {key} and sk-proj-abc123def456ghi789jkl012")
    assert hidden == 2 and key not in text and "sk-proj" not in text and text.count(MASK) == 2
    for kept in ("start bot btc_scalper_v2_2024", "buy 1000000000 shib", "ขายอีเธอเรียมครึ่งหนึ่ง",
                 "internationalization-is-long-but-has-no-digits"):
        assert redact(kept) == (kept, 0)
