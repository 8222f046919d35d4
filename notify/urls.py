from django.urls import path

from notify import views

app_name = "notify"

urlpatterns = [path("settings", views.save_settings, name="settings")]
