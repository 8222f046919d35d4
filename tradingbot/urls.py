from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts import language
from api.v1 import api as api_v1
from metrics import views as metrics_views
from tradingbot import health

urlpatterns = [
    path("health", health.health, name="health"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The language switcher (saves the profile too) and the JavaScript strings' catalogue (domain djangojs),
    # served from our own origin, so script-src 'self' allows it.
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("accounts.urls")),
    path("exchanges/", include("exchanges.urls")),
    path("strategies/", include("strategies.urls")),
    path("research/", include("research.urls")),
    path("telegram/", include("telegram_bot.urls")),
    path("notifications/", include("notify.urls")),
    path("api/v1/", api_v1.urls),  # the REST API (django-ninja); its docs and token pages below
    path("api/", include("api.urls")),
    path("assistant/", include("assistant.urls")),
    # Before bots.urls: its bots/<pk>/<action>/ would take bots/<pk>/edit/ and the others.
    path("", include("commands.urls")),
    path("", include("bots.urls")),
]
