from django.urls import path

from apps.appointments import views

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("today/", views.today, name="today"),
    path("new/", views.appointment_create, name="appointment-create"),
    path("patient-search/", views.appointment_patient_search, name="appointment-patient-search"),
    path("<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("<int:pk>/status/", views.appointment_status, name="appointment-status"),
    path("<int:pk>/confirmation/", views.appointment_confirmation, name="appointment-confirmation"),
    path("<int:pk>/cancel/", views.appointment_cancel_view, name="appointment-cancel"),
    path("<int:pk>/move/", views.appointment_move_view, name="appointment-move"),
    path("patients/<int:patient_pk>/", views.patient_appointments, name="patient-appointments"),
    path("feeds/<str:token>.ics", views.provider_feed, name="provider-feed"),
]
