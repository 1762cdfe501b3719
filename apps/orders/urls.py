from django.urls import path

from apps.orders import views

urlpatterns = [
    path("", views.order_list, name="order-list"),
    path("new/<int:prescription_pk>/", views.order_create_view, name="order-create"),
    path("<int:pk>/", views.order_detail, name="order-detail"),
    path("<int:pk>/edit/", views.order_edit, name="order-edit"),
    path("<int:pk>/status/", views.order_status, name="order-status"),
    path("<int:pk>/lines/", views.order_line_add_view, name="order-line-add"),
    path("<int:pk>/lines/<int:line_pk>/remove/", views.order_line_remove_view, name="order-line-remove"),
    path("<int:pk>/payments/", views.order_payment_add, name="order-payment-add"),
    path("<int:pk>/ticket/", views.order_ticket, name="order-ticket"),
    path("<int:pk>/receipt.pdf", views.order_receipt, name="order-receipt"),
    path("<int:pk>/receipt/send/", views.order_receipt_send_view, name="order-receipt-send"),
    path("labs/", views.lab_list, name="lab-list"),
    path("labs/<int:pk>/", views.lab_edit, name="lab-edit"),
    path("settings/", views.shop_settings, name="shop-settings"),
    path("cash/", views.cash_report, name="cash-report"),
]
