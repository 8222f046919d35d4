from django.contrib import admin
from django.urls import include, path

from tradingbot import health

urlpatterns = [
    path("health", health.health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("exchanges/", include("exchanges.urls")),
    path("strategies/", include("strategies.urls")),
    path("research/", include("research.urls")),
    path("telegram/", include("telegram_bot.urls")),
    path("notifications/", include("notify.urls")),
    # Before bots.urls: its bots/<pk>/<action>/ would take bots/<pk>/edit/ and the others.
    path("", include("commands.urls")),
    path("", include("bots.urls")),
]
