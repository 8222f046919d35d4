from django.urls import path

from strategies import result_views, views

app_name = "strategies"

urlpatterns = [
    path("", views.config_list, name="list"),
    path("new/", views.config_create, name="create"),
    path("<int:pk>/edit/", views.config_edit, name="edit"),
    path("<int:pk>/delete/", views.config_delete, name="delete"),
    path("backtests/", views.backtest_list, name="backtests"),
    path("backtests/new/", views.backtest_new, name="backtest_new"),
    path("backtests/compare/", result_views.backtest_compare, name="backtest_compare"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest_detail"),
    path("backtests/<int:pk>/chart/", result_views.backtest_chart, name="backtest_chart"),
    path("backtests/<int:pk>/trades.csv", result_views.backtest_trades_csv, name="backtest_trades_csv"),
    path("backtests/<int:pk>/equity.csv", result_views.backtest_equity_csv, name="backtest_equity_csv"),
    path("backtests/<int:pk>/status/", views.backtest_status, name="backtest_status"),
    path("backtests/<int:pk>/delete/", views.backtest_delete, name="backtest_delete"),
]
