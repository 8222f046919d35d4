"""Texts stored in English (bot events, the worker's activity entries, refusal messages) shown in the reader's
language: the English text is matched against the catalogue's own msgids, exactly or as a pattern with its
%(name)s placeholders, and the translation is filled with the same values (each translated in turn when it is
itself a known English text). Nothing is stored twice and old rows translate too; a text no msgid fits is
shown as it was stored."""

import re
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import trans_real

PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
MAX_DEPTH = 3
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@lru_cache(maxsize=16)
def _patterns(language: str) -> tuple[tuple[str, str, re.Pattern, str], ...]:
    """(prefix, longest literal, regex, msgid) of every msgid with a %(name)s placeholder in `language`'s
    catalogue, the most specific (the most literal text) first. The prefix and the literal are cheap tests that
    rule out most msgids before their regex runs."""
    catalog = trans_real.translation(language)._catalog
    found = []
    for msgid in catalog.keys():
        if not isinstance(msgid, str) or "%(" not in msgid:
            continue
        pattern, seen, literal, last, chunks = [], set(), 0, 0, []
        for match in PLACEHOLDER.finditer(msgid):
            text = msgid[last:match.start()]
            pattern.append(re.escape(text))
            literal += len(text)
            chunks.append(text)
            if match.group(0) == "%%":
                pattern.append("%")
            elif match.group(1) in seen:
                pattern.append(f"(?P={match.group(1)})")
            else:
                seen.add(match.group(1))
                pattern.append(f"(?P<{match.group(1)}>.+?)")
            last = match.end()
        if "%(" in msgid[last:]:  # another conversion (%(x)d, %(x).2f): not reversible from text, skipped
            continue
        pattern.append(re.escape(msgid[last:]))
        literal += len(msgid) - last
        chunks.append(msgid[last:])
        if literal >= 3:  # "%(a)s: %(b)s" alone would swallow anything
            prefix = chunks[0].replace("%%", "%")
            longest = max(chunks, key=len).replace("%%", "%")
            found.append((literal, prefix, longest, re.compile("".join(pattern), re.DOTALL), msgid))
    found.sort(key=lambda item: -item[0])
    return tuple((prefix, longest, regex, msgid) for _literal, prefix, longest, regex, msgid in found)


@receiver(setting_changed)
def _forget(setting, **kwargs):
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _patterns.cache_clear()
        _shown_cached.cache_clear()


def shown(text, depth: int = 0) -> str:
    """`text` (English, as stored) in the active language."""
    if not text:
        return text or ""
    text = str(text)
    language = translation.get_language()
    if not language or language == "en" or depth > MAX_DEPTH:
        return text
    if depth == 0:
        return _shown_cached(language, text)  # a page shows the same events again at each live update
    return _shown(language, text, depth)


@lru_cache(maxsize=4096)
def _shown_cached(language: str, text: str) -> str:
    return _shown(language, text, 0)


def _shown(language: str, text: str, depth: int) -> str:
    translated = translation.gettext(text)
    if translated != text:
        return translated
    # A msgid whose values hold no sentence break first; then the text's sentences each alone (texts joined
    # into one: "Started by web (alice). The stored candles begin at ..."); then a msgid spanning sentences.
    spanning = None
    for prefix, longest, regex, msgid in _patterns(language):
        if not text.startswith(prefix) or longest not in text:
            continue
        match = regex.fullmatch(text)
        if match is None:
            continue
        # Every msgid here is in the language's catalogue, so translated (msgfmt leaves out empty and fuzzy ones);
        # a translation may equal its msgid ("%(side)s %(amount)s %(symbol)s" in Thai): its values still translate.
        target = translation.gettext(msgid)
        if any(SENTENCE_END.search(value) for value in match.groupdict().values()):
            spanning = spanning or (match, target)
            continue
        return _filled(text, match, target, depth)
    sentences = SENTENCE_END.split(text)
    if len(sentences) > 1:
        shown_sentences = [shown(sentence, depth + 1) for sentence in sentences]
        if shown_sentences != sentences:
            return " ".join(shown_sentences)
    if spanning:
        return _filled(text, *spanning, depth)
    return text


def _filled(text: str, match: re.Match, target: str, depth: int) -> str:
    values = {name: shown(value, depth + 1) for name, value in match.groupdict().items()}
    try:
        return target % values
    except (KeyError, ValueError, TypeError):  # a translation that names other placeholders
        return text
