from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("docs", views.docs, name="docs"),
    path("tokens/new/", views.create_token, name="create_token"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("bots/<int:pk>/webhook/", views.bot_webhook, name="bot_webhook"),
    path("bots/<int:pk>/webhook/off/", views.bot_webhook_off, name="bot_webhook_off"),
]
