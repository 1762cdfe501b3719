from django.urls import path

from apps.recalls.api import views

urlpatterns = [
    path("recalls/", views.RecallListApi.as_view(), name="recall-list"),
    path("recalls/<int:pk>/", views.RecallDetailApi.as_view(), name="recall-detail"),
    path("recalls/<int:pk>/send/", views.RecallSendApi.as_view(), name="recall-send"),
]
