from django.urls import path

from apps.orders.api import views

urlpatterns = [
    path("labs/", views.LabListCreateApi.as_view(), name="lab-list"),
    path("labs/<int:pk>/", views.LabDetailApi.as_view(), name="lab-detail"),
    path("orders/", views.OrderListCreateApi.as_view(), name="order-list"),
    path("orders/<int:pk>/", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:pk>/status/", views.OrderStatusApi.as_view(), name="order-status"),
    path("orders/<int:pk>/lines/", views.OrderLineCreateApi.as_view(), name="order-line-create"),
    path("orders/<int:pk>/lines/<int:line_pk>/", views.OrderLineDeleteApi.as_view(), name="order-line-delete"),
    path("orders/<int:pk>/receipt/send/", views.OrderReceiptSendApi.as_view(), name="order-receipt-send"),
    path("payments/", views.PaymentListCreateApi.as_view(), name="payment-list"),
    path("payments/<int:pk>/", views.PaymentDetailApi.as_view(), name="payment-detail"),
]
