"""A small Thai catalogue made by the tests (msgfmt), put before the project's own in LOCALE_PATHS: the i18n
machinery (Telegram, stored texts, live fragments) is tested with known translations, whatever state the
project's catalogues are in."""

import subprocess

import polib
import pytest

# msgid -> Thai. Texts of the code under test, verbatim.
THAI = {
    "%(bot)s stopped with an error: %(reason)s": "%(bot)s หยุดทำงานเพราะข้อผิดพลาด: %(reason)s",
    "%(bot)s: bought %(amount)s at %(price)s (fee %(fee)s).":
        "%(bot)s: ซื้อ %(amount)s ที่ราคา %(price)s (ค่าธรรมเนียม %(fee)s)",
    "Stopped by %(who)s.": "หยุดโดย %(who)s",
    "Started by %(who)s.": "เริ่มโดย %(who)s",
    "Bot stopped with an error: %(reason)s": "บอทหยุดทำงานเพราะข้อผิดพลาด: %(reason)s",
    "BUY refused (%(rule)s): %(message)s": "ปฏิเสธการซื้อ (%(rule)s): %(message)s",
    "The halt ended: the bot may open positions again.": "สิ้นสุดการหยุดพัก: บอทเปิดสถานะได้อีกครั้ง",
    "Stopped": "หยุดแล้ว",
    "Events": "เหตุการณ์",
    "Dashboard": "แดชบอร์ด",
    "Equity": "มูลค่าพอร์ต",
    "Log in": "เข้าสู่ระบบ",
    "%(symbol)s went above %(price)s: now %(last)s on %(source)s.":
        "%(symbol)s ขึ้นเหนือ %(price)s: ตอนนี้ %(last)s บน %(source)s",
    "Reset your password on %(site_name)s": "ตั้งรหัสผ่านใหม่บน %(site_name)s",
}


@pytest.fixture
def thai_catalogue(tmp_path, settings):
    """LOCALE_PATHS with the Thai texts above first (Django's setting_changed handler drops its cached
    translations, and tradingbot.stored_text its patterns)."""
    po = polib.POFile()
    po.metadata = {"Project-Id-Version": "tradingbot tests", "PO-Revision-Date": "2026-12-01 00:00+0000",
                   "Last-Translator": "tests", "Language-Team": "th", "MIME-Version": "1.0",
                   "Content-Type": "text/plain; charset=UTF-8", "Content-Transfer-Encoding": "8bit",
                   "Language": "th", "Plural-Forms": "nplurals=1; plural=0;"}
    for msgid, msgstr in THAI.items():
        po.append(polib.POEntry(msgid=msgid, msgstr=msgstr, flags=["python-format"] if "%(" in msgid else []))
    folder = tmp_path / "locale" / "th" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po.save(str(folder / "django.po"))
    subprocess.run(["msgfmt", "--check", "-o", str(folder / "django.mo"), str(folder / "django.po")], check=True)
    settings.LOCALE_PATHS = [tmp_path / "locale", *settings.LOCALE_PATHS]
    return THAI
