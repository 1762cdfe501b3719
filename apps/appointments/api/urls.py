from django.urls import path

from apps.appointments.api import views

urlpatterns = [
    path("appointments/", views.AppointmentListCreateApi.as_view(), name="appointment-list"),
    path("appointments/<int:pk>/", views.AppointmentDetailApi.as_view(), name="appointment-detail"),
    path("appointments/<int:pk>/cancel/", views.AppointmentCancelApi.as_view(), name="appointment-cancel"),
    path("appointments/<int:pk>/status/", views.AppointmentStatusApi.as_view(), name="appointment-status"),
    path("appointments/<int:pk>/confirmation/", views.AppointmentConfirmationApi.as_view(),
         name="appointment-confirmation"),
    path("providers/", views.ProviderListCreateApi.as_view(), name="provider-list"),
    path("providers/<int:pk>/", views.ProviderDetailApi.as_view(), name="provider-detail"),
    path("appointment-types/", views.AppointmentTypeListCreateApi.as_view(), name="appointment-type-list"),
    path("appointment-types/<int:pk>/", views.AppointmentTypeDetailApi.as_view(), name="appointment-type-detail"),
    path("availability/", views.AvailabilityApi.as_view(), name="availability"),
]
