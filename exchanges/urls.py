from django.urls import path

from exchanges import views

app_name = "exchanges"

urlpatterns = [
    path("", views.account_list, name="list"),
]
