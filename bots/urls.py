from django.urls import path

from bots import api, views

app_name = "bots"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bots/", views.bot_list, name="list"),
    path("bots/new/", views.bot_create, name="create"),
    path("bots/new/symbols/", views.symbol_options, name="symbol_options"),
    path("bots/<int:pk>/", views.bot_detail, name="detail"),
    path("bots/<int:pk>/<str:action>/", views.bot_action, name="action"),
    path("bot/start", api.start, name="api_start"),
    path("bot/stop", api.stop, name="api_stop"),
    path("dashboard/pnl", api.pnl, name="api_pnl"),
]
