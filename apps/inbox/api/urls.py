from django.urls import path

from apps.inbox.api.views import ConversationDetailApi, ConversationListApi, ConversationReplyApi

urlpatterns = [
    path("conversations/", ConversationListApi.as_view(), name="conversation-list"),
    path("conversations/<int:pk>/", ConversationDetailApi.as_view(), name="conversation-detail"),
    path("conversations/<int:pk>/reply/", ConversationReplyApi.as_view(), name="conversation-reply"),
]
