from django.contrib import admin
from django.urls import include, path

from metrics import views as metrics_views
from tradingbot import health

urlpatterns = [
    path("health", health.health, name="health"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("exchanges/", include("exchanges.urls")),
    path("strategies/", include("strategies.urls")),
    path("telegram/", include("telegram_bot.urls")),
    path("notifications/", include("notify.urls")),
    path("assistant/", include("assistant.urls")),
    # Before bots.urls: its bots/<pk>/<action>/ would take bots/<pk>/edit/ and the others.
    path("", include("commands.urls")),
    path("", include("bots.urls")),
]
