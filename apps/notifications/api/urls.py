from django.urls import path

from apps.notifications.api.views import MessageDetailApi, MessageListApi

urlpatterns = [
    path("messages/", MessageListApi.as_view(), name="message-list"),
    path("messages/<int:pk>/", MessageDetailApi.as_view(), name="message-detail"),
]
