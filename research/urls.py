from django.urls import path

from research import views

app_name = "research"

urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/", views.run_new, name="new"),
    path("<int:pk>/", views.run_detail, name="detail"),
    path("<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("<int:pk>/results.csv", views.run_results_csv, name="results_csv"),
    path("<int:pk>/walk-forward.csv", views.run_walk_forward_csv, name="walk_forward_csv"),
    path("<int:pk>/results/<str:index>/backtest/", views.run_backtest, name="backtest"),
    path("<int:pk>/results/<str:index>/save/", views.run_save, name="save"),
]
