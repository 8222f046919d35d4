from django.urls import path

from strategies import views

app_name = "strategies"

urlpatterns = [
    path("", views.config_list, name="list"),
    path("new/", views.config_create, name="create"),
    path("<int:pk>/edit/", views.config_edit, name="edit"),
    path("<int:pk>/delete/", views.config_delete, name="delete"),
    path("backtests/", views.backtest_list, name="backtests"),
    path("backtests/new/", views.backtest_new, name="backtest_new"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest_detail"),
    path("backtests/<int:pk>/status/", views.backtest_status, name="backtest_status"),
    path("backtests/<int:pk>/delete/", views.backtest_delete, name="backtest_delete"),
]
