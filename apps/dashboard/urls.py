from django.urls import path

from apps.dashboard import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<int:pk>/handled/", views.alert_handle, name="alert-handle"),
]
