from django.urls import path

from bots import api, views

app_name = "bots"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bot/start", api.start, name="api_start"),
    path("bot/stop", api.stop, name="api_stop"),
    path("dashboard/pnl", api.pnl, name="api_pnl"),
]
