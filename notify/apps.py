from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Notifications"

    def ready(self):
        from django.db.models.signals import post_save

        from accounts import settings_page
        from bots.models import BotEvent
        from notify import events, views

        post_save.connect(events.on_bot_event, sender=BotEvent, dispatch_uid="notify.on_bot_event")
        settings_page.register_section("notifications", "notify/settings_section.html", views.settings_context,
                                       order=30)
