from django.urls import path

from apps.appointments import views, views_setup

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/providers/<int:pk>/week/", views.calendar_provider_week, name="calendar-provider-week"),
    path("today/", views.today, name="today"),
    path("new/", views.appointment_create, name="appointment-create"),
    path("slots/", views.appointment_slots, name="appointment-slots"),
    path("patient-search/", views.appointment_patient_search, name="appointment-patient-search"),
    path("<int:pk>/", views.appointment_detail, name="appointment-detail"),
    path("<int:pk>/status/", views.appointment_status, name="appointment-status"),
    path("<int:pk>/confirmation/", views.appointment_confirmation, name="appointment-confirmation"),
    path("<int:pk>/cancel/", views.appointment_cancel_view, name="appointment-cancel"),
    path("<int:pk>/move/", views.appointment_move_view, name="appointment-move"),
    path("patients/<int:patient_pk>/", views.patient_appointments, name="patient-appointments"),
    path("setup/", views_setup.schedule_setup, name="schedule-setup"),
    path("setup/rules/", views_setup.scheduling_settings_save, name="scheduling-settings"),
    path("setup/providers/<int:pk>/", views_setup.provider_edit, name="provider-edit"),
    path("setup/providers/<int:pk>/time-off/", views_setup.provider_time_off_add, name="provider-time-off-add"),
    path("setup/providers/<int:pk>/time-off/<int:time_off_pk>/delete/", views_setup.provider_time_off_delete,
         name="provider-time-off-delete"),
    path("setup/providers/<int:pk>/feed/rotate/", views_setup.provider_feed_rotate, name="provider-feed-rotate"),
    path("setup/types/<int:pk>/", views_setup.appointment_type_edit, name="appointment-type-edit"),
    path("feeds/<str:token>.ics", views.provider_feed, name="provider-feed"),
]
