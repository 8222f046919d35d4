from django.urls import path

from telegram_bot import views

app_name = "telegram_bot"

urlpatterns = [
    path("webhook", views.webhook, name="webhook"),
    path("link", views.link, name="link"),
    path("unlink", views.unlink, name="unlink"),
]
