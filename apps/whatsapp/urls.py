from django.urls import path

from apps.whatsapp import views

urlpatterns = [
    path("events/", views.events_receive, name="whatsapp-events"),
    path("", views.link_page, name="whatsapp-link"),
    path("status/", views.link_status, name="whatsapp-link-status"),
    path("link/", views.link_start, name="whatsapp-link-start"),
    path("unlink/", views.unlink, name="whatsapp-unlink"),
    path("pairing-code/", views.pairing_code, name="whatsapp-pairing-code"),
    path("cloud/", views.cloud_connect, name="whatsapp-cloud-connect"),
]
