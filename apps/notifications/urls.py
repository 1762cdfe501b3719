from django.urls import path

from apps.notifications import views

urlpatterns = [
    path("settings/", views.notification_settings, name="notification-settings"),
    path("settings/rules/", views.reminder_rule_create, name="reminder-rule-create"),
    path("settings/rules/<int:pk>/", views.reminder_rule_update, name="reminder-rule-update"),
    path("settings/rules/<int:pk>/delete/", views.reminder_rule_delete, name="reminder-rule-delete"),
    path("settings/templates/preview/", views.message_template_preview, name="message-template-preview"),
    path("settings/templates/<str:kind>/<str:language>/", views.message_template_edit, name="message-template-edit"),
    path("alerts/<int:pk>/handled/", views.staff_alert_handle, name="staff-alert-handle"),
    path("messages/", views.message_list, name="message-list"),
    path("messages/<int:pk>/patient/", views.ambiguous_reply, name="ambiguous-reply"),
    path("patients/<int:patient_pk>/messages/", views.patient_messages, name="patient-messages"),
    path("appointments/<int:appointment_pk>/reminders/", views.appointment_reminders, name="appointment-reminders"),
    path("appointments/<int:appointment_pk>/reminders/send/", views.appointment_reminder_send,
         name="appointment-reminder-send"),
    path("patients/<int:patient_pk>/reminders/", views.patient_reminders, name="patient-reminders"),
    path("patients/<int:patient_pk>/send/", views.patient_whatsapp_send, name="patient-whatsapp-send"),
    path("patients/<int:patient_pk>/send-file/", views.patient_whatsapp_send_file, name="patient-whatsapp-send-file"),
    path("attachments/<int:pk>/", views.message_attachment, name="message-attachment"),
]
