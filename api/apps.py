from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API and webhooks"

    def ready(self):
        from accounts import settings_page
        from api import signals, views  # noqa: F401  (signals registers its command and handler)

        settings_page.register_section("api_tokens", "api/settings_section.html", views.settings_context, order=30)
