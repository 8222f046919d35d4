from django.urls import path

from bots import api, history_views, views

app_name = "bots"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bots/", views.bot_list, name="list"),
    path("bots/new/", views.bot_create, name="create"),
    path("bots/new/symbols/", views.symbol_options, name="symbol_options"),
    path("bots/<int:pk>/", views.bot_detail, name="detail"),
    # Before the action route, which would take "chart" or "fills" for an action.
    path("bots/<int:pk>/chart/", history_views.chart, name="chart"),
    path("bots/<int:pk>/fills/", history_views.fills, name="fills"),
    path("bots/<int:pk>/fills.csv", history_views.fills_csv, name="fills_csv"),
    path("bots/<int:pk>/trades.csv", history_views.trades_csv, name="trades_csv"),
    path("bots/<int:pk>/equity.csv", history_views.equity_csv, name="equity_csv"),
    path("bots/<int:pk>/<str:action>/", views.bot_action, name="action"),
    path("bot/start", api.start, name="api_start"),
    path("bot/stop", api.stop, name="api_stop"),
    path("dashboard/pnl", api.pnl, name="api_pnl"),
]
