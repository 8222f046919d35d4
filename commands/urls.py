from django.urls import path

from commands import views

app_name = "commands"

urlpatterns = [
    path("trade/accounts/<uuid:account_id>/", views.account_trading, name="account_trading"),
    path("trade/accounts/<uuid:account_id>/cancel-orders/", views.cancel_account_orders, name="cancel_account_orders"),
    path("trade/accounts/<uuid:account_id>/limits/", views.manual_limits, name="manual_limits"),
    path("trade/ticket/", views.ticket_submit, name="ticket"),
    path("trade/pending/<str:pending_id>/confirm/", views.confirm_pending, name="confirm"),
    path("trade/pending/<str:pending_id>/cancel/", views.cancel_pending_view, name="cancel_pending"),
    path("trade/positions/<int:pk>/exit/", views.force_exit, name="force_exit"),
    path("trade/orders/<int:pk>/cancel/", views.cancel_order, name="cancel_order"),
    path("bots/<int:pk>/close/", views.close_position, name="close_position"),
    path("bots/<int:pk>/cancel-orders/", views.cancel_bot_orders, name="cancel_bot_orders"),
    path("bots/<int:pk>/edit/", views.bot_edit, name="bot_edit"),
    path("bots/<int:pk>/clone/", views.bot_clone, name="bot_clone"),
    path("bots/<int:pk>/archive/", views.bot_archive, name="bot_archive"),
    path("bots/<int:pk>/restore/", views.bot_archive, {"restore": True}, name="bot_restore"),
    path("bots/<int:pk>/delete/", views.bot_delete, name="bot_delete"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/cancel/", views.cancel_alert, name="cancel_alert"),
    path("portfolio/", views.portfolio_page, name="portfolio"),
    path("portfolio/prices/", views.portfolio_balances, name="portfolio_prices"),
    path("portfolio.json", views.portfolio_json, name="portfolio_json"),
    path("activity/", views.activity, name="activity"),
    path("activity/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activity/preferences/", views.preferences, name="preferences"),
]
