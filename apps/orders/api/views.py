import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.appointments.api.views import _resolve, _valid
from apps.appointments.models import EventSource
from apps.orders.api import serializers as s
from apps.orders.models import Lab, Order, OrderLine, Payment
from apps.orders.selectors import order_list, payments_between, with_totals
from apps.orders.services import (
    lab_create,
    lab_update,
    order_create,
    order_line_add,
    order_line_remove,
    order_receipt_send,
    order_status_change,
    order_update,
    payment_record,
)
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.scoping import get_scoped_or_404, scoped
from apps.patients.models import Patient, Prescription


def _details(organization, data: dict) -> dict:
    data = dict(data)
    if "lab" in data:
        data["lab"] = _resolve(Lab, organization, "lab", data["lab"])
    data.pop("prescription", None)
    return data


def _order_out(order: Order) -> dict:
    order = (with_totals(Order.objects.filter(pk=order.pk)).select_related("patient")
             .prefetch_related("lines", "events").get())
    return s.OrderSerializer(order).data


@extend_schema(tags=["labs"])
class LabListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    """The clinic's labs; any member adds one."""

    queryset = Lab.objects.order_by("name")
    serializer_class = s.LabSerializer

    @extend_schema(request=s.LabSerializer, responses={201: s.LabSerializer})
    def post(self, request):
        data = _valid(s.LabSerializer, request.data)
        lab = lab_create(organization=request.organization, **data)
        return Response(s.LabSerializer(lab).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["labs"])
class LabDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Lab.objects.all()
    serializer_class = s.LabSerializer

    @extend_schema(request=s.LabSerializer, responses={200: s.LabSerializer})
    def patch(self, request, pk):
        lab = self.get_object()
        serializer = s.LabSerializer(lab, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        lab = lab_update(lab=lab, data=serializer.validated_data)
        return Response(s.LabSerializer(lab).data)


@extend_schema(tags=["orders"])
class OrderListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    """Orders of the clinic with their totals, paid and balance due; POST makes a draft from a final prescription."""

    queryset = Order.objects.all()
    serializer_class = s.OrderSerializer

    def get_queryset(self):
        filters = _valid(s.OrderFilterSerializer, self.request.query_params)
        organization = self.request.organization
        if filters.get("patient"):
            _resolve(Patient, organization, "patient", filters["patient"])
        if filters.get("lab"):
            _resolve(Lab, organization, "lab", filters["lab"])
        return order_list(organization=organization, filters=filters).prefetch_related("lines", "events")

    @extend_schema(parameters=[s.OrderFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.OrderCreateSerializer, responses={201: s.OrderSerializer})
    def post(self, request):
        data = _valid(s.OrderCreateSerializer, request.data)
        organization = request.organization
        prescription = _resolve(Prescription, organization, "prescription", data["prescription"])
        order = order_create(organization=organization, prescription=prescription, data=_details(organization, data),
                             actor=request.user, source=EventSource.API)
        return Response(_order_out(order), status=status.HTTP_201_CREATED)


@extend_schema(tags=["orders"])
class OrderDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Order.objects.all()
    serializer_class = s.OrderSerializer

    def get_queryset(self):
        return with_totals(super().get_queryset()).select_related("patient").prefetch_related("lines", "events")

    @extend_schema(request=s.OrderDetailsSerializer, responses={200: s.OrderSerializer})
    def patch(self, request, pk):
        order = self.get_object()
        serializer = s.OrderDetailsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        order = order_update(order=order, data=_details(request.organization, serializer.validated_data),
                             actor=request.user)
        return Response(_order_out(order))


@extend_schema(tags=["orders"], request=s.OrderStatusSerializer, responses=s.OrderSerializer)
class OrderStatusApi(OrganizationScopedMixin, APIView):
    """One move along the lifecycle; an illegal move answers 400 naming `status`."""

    queryset = Order.objects.all()

    def post(self, request, pk):
        order = get_scoped_or_404(Order, request.organization, pk=pk)
        data = _valid(s.OrderStatusSerializer, request.data)
        order_status_change(order=order, to_status=data["status"], actor=request.user, source=EventSource.API)
        return Response(_order_out(order))


@extend_schema(tags=["orders"], request=None, responses={202: OpenApiResponse(description="The receipt is queued.")})
class OrderReceiptSendApi(OrganizationScopedMixin, APIView):
    """The receipt PDF to the patient's WhatsApp (queued; the message's status follows in /api/messages/)."""

    queryset = Order.objects.all()

    def post(self, request, pk):
        order = get_scoped_or_404(Order, request.organization, pk=pk)
        link = order_receipt_send(order=order, actor=request.user)
        return Response({"message": link.message_id, "status": link.message.status}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["orders"], request=s.OrderLineCreateSerializer, responses={201: s.OrderLineSerializer})
class OrderLineCreateApi(OrganizationScopedMixin, APIView):
    queryset = Order.objects.all()

    def post(self, request, pk):
        order = get_scoped_or_404(Order, request.organization, pk=pk)
        data = _valid(s.OrderLineCreateSerializer, request.data)
        line = order_line_add(order=order, **data)
        return Response(s.OrderLineSerializer(line).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["orders"], responses={204: OpenApiResponse(description="Removed.")})
class OrderLineDeleteApi(OrganizationScopedMixin, APIView):
    queryset = OrderLine.objects.all()

    def delete(self, request, pk, line_pk):
        line = get_scoped_or_404(OrderLine.objects.select_related("order"), request.organization, pk=line_pk,
                                 order_id=pk)
        order_line_remove(line=line)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["payments"])
class PaymentListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    """Payments received (by order or by local days); POST records a deposit or the balance."""

    queryset = Payment.objects.all()
    serializer_class = s.PaymentSerializer

    def get_queryset(self):
        filters = _valid(s.PaymentFilterSerializer, self.request.query_params)
        organization = self.request.organization
        if filters.get("date_from") or filters.get("date_to"):
            first = filters.get("date_from") or dt.date(2000, 1, 1)
            last = filters.get("date_to") or dt.date(2100, 1, 1)
            if last < first:
                raise serializers.ValidationError({"date_to": [_("The last day must not be before the first.")]})
            qs = payments_between(organization=organization, first=first, last=last)
        else:
            qs = scoped(Payment, organization).order_by("received_at", "id")
        if filters.get("order"):
            qs = qs.filter(order=_resolve(Order, organization, "order", filters["order"]))
        return qs

    @extend_schema(parameters=[s.PaymentFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PaymentCreateSerializer, responses={201: s.PaymentSerializer})
    def post(self, request):
        data = _valid(s.PaymentCreateSerializer, request.data)
        order = _resolve(Order, request.organization, "order", data["order"])
        payment = payment_record(order=order, amount=data["amount"], method=data["method"],
                                 reference=data["reference"], actor=request.user)
        return Response(s.PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["payments"])
class PaymentDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Payment.objects.all()
    serializer_class = s.PaymentSerializer
