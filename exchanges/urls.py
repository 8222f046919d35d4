from django.urls import path

from exchanges import connection_views, views

app_name = "exchanges"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("accounts/new/", views.account_create, name="create"),
    path("accounts/<uuid:pk>/", views.account_detail, name="detail"),
    path("accounts/<uuid:pk>/edit/", views.account_edit, name="edit"),
    path("accounts/<uuid:pk>/delete/", views.account_delete, name="delete"),
    path("accounts/<uuid:pk>/test/", connection_views.test_connection_view, name="test_connection"),
]
