from django.apps import AppConfig


class TelegramBotConfig(AppConfig):
    name = "telegram_bot"
    verbose_name = "Telegram"

    def ready(self):
        from accounts import settings_page
        from telegram_bot import commands, views  # noqa: F401  (commands register themselves)

        settings_page.register_section("telegram", "telegram_bot/settings_section.html", views.settings_context,
                                       order=20)
