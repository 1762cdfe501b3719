from django.urls import path

from apps.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread/", views.unread_badge, name="inbox-unread"),
    path("<int:pk>/", views.conversation_detail, name="conversation-detail"),
    path("<int:pk>/thread/", views.conversation_thread, name="conversation-thread"),
    path("<int:pk>/reply/", views.conversation_reply, name="conversation-reply"),
    path("<int:pk>/state/", views.conversation_state, name="conversation-state"),
    path("<int:pk>/assign/", views.conversation_assign, name="conversation-assign"),
    path("<int:pk>/appointments/<int:appointment_pk>/<str:action>/", views.conversation_appointment,
         name="conversation-appointment"),
    path("patients/<int:patient_pk>/", views.patient_conversation, name="patient-conversation"),
    path("canned/", views.canned_reply_list, name="canned-reply-list"),
    path("canned/<int:pk>/", views.canned_reply_list, name="canned-reply-edit"),
    path("canned/<int:pk>/delete/", views.canned_reply_delete, name="canned-reply-delete"),
]
