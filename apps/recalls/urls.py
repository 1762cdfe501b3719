from django.urls import path

from apps.recalls import views

urlpatterns = [
    path("", views.recall_list, name="recall-list"),
    path("generate/", views.recall_generate, name="recall-generate"),
    path("<int:pk>/status/", views.recall_status, name="recall-status"),
    path("<int:pk>/send/", views.recall_send, name="recall-send"),
    path("rules/<int:pk>/", views.recall_rule_edit, name="recall-rule-edit"),
]
