from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("ask/", views.ask, name="ask"),
    path("pending/<str:pending_id>/confirm/", views.confirm, name="confirm"),
    path("pending/<str:pending_id>/cancel/", views.cancel, name="cancel"),
    path("history/", views.history, name="history"),
]
