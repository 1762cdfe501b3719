import datetime as dt

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.appointments.api import serializers as s
from apps.appointments.availability import MAX_DAYS, availability_list
from apps.appointments.models import Appointment, AppointmentType, EventSource, Provider
from apps.appointments.provider_services import (
    appointment_type_create,
    appointment_type_update,
    provider_create,
    provider_update,
)
from apps.appointments.rules import local_day_bounds
from apps.appointments.selectors import appointment_list
from apps.appointments.services import (
    appointment_book,
    appointment_cancel,
    appointment_confirmation_set,
    appointment_move,
    appointment_status_change,
    appointment_update,
)
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.models import MANAGER_ROLES, Membership
from apps.organizations.scoping import get_scoped_or_404, scoped

MANAGERS_WRITE = {method: MANAGER_ROLES for method in ("POST", "PUT", "PATCH", "DELETE")}


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _resolve(model, organization, field: str, pk):
    """A row of the caller's clinic, or a 400 naming the field (another clinic's id is simply unknown)."""
    if pk is None:
        return None
    obj = scoped(model, organization).filter(pk=pk).first()
    if obj is None:
        raise serializers.ValidationError({field: [_("Unknown in this organization.")]})
    return obj


def _check_override(request, override: bool) -> None:
    if override and not request.membership.is_manager:
        raise serializers.ValidationError({"override": [_("Only an administrator can override the schedule rules.")]})


def _patient_model():
    from apps.patients.models import Patient

    return Patient


@extend_schema(tags=["appointments"])
class AppointmentListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    """Appointments of the clinic by period, provider, patient and status; POST books one."""

    queryset = Appointment.objects.all()
    serializer_class = s.AppointmentSerializer

    def get_queryset(self):
        filters = _valid(s.AppointmentFilterSerializer, self.request.query_params)
        organization = self.request.organization
        zone = organization.zone
        start, end = filters.get("start"), filters.get("end")
        if filters.get("date_from"):
            start = local_day_bounds(filters["date_from"], zone)[0]
        if filters.get("date_to"):
            end = local_day_bounds(filters["date_to"], zone)[1]
        return appointment_list(
            organization=organization, start=start, end=end, status=list(filters.get("status") or []),
            provider=_resolve(Provider, organization, "provider", filters.get("provider")),
            patient=_resolve(_patient_model(), organization, "patient", filters.get("patient")),
        )

    @extend_schema(parameters=[s.AppointmentFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.AppointmentCreateSerializer, responses={201: s.AppointmentSerializer})
    def post(self, request):
        data = _valid(s.AppointmentCreateSerializer, request.data)
        organization = request.organization
        _check_override(request, data["override"])
        appointment = appointment_book(
            organization=organization,
            patient=_resolve(_patient_model(), organization, "patient", data["patient"]),
            provider=_resolve(Provider, organization, "provider", data["provider"]),
            appointment_type=_resolve(AppointmentType, organization, "appointment_type", data["appointment_type"]),
            start=data["start"], end=data.get("end"), notes=data["notes"], booked_by=request.user,
            source=EventSource.API, override=data["override"],
        )
        return Response(s.AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["appointments"])
class AppointmentDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Appointment.objects.select_related("patient", "provider", "appointment_type")
    serializer_class = s.AppointmentSerializer

    @extend_schema(request=s.AppointmentUpdateSerializer, responses={200: s.AppointmentSerializer})
    def patch(self, request, pk):
        appointment = self.get_object()
        data = _valid(s.AppointmentUpdateSerializer, request.data)
        organization = request.organization
        _check_override(request, data["override"])
        if {"notes", "appointment_type"} & data.keys():
            appointment_update(
                appointment=appointment, notes=data.get("notes"), actor=request.user, source=EventSource.API,
                appointment_type=_resolve(AppointmentType, organization, "appointment_type",
                                          data.get("appointment_type")),
            )
        if {"start", "end", "provider"} & data.keys():
            appointment_move(
                appointment=appointment, start=data.get("start", appointment.start), end=data.get("end"),
                provider=_resolve(Provider, organization, "provider", data.get("provider")),
                actor=request.user, source=EventSource.API, override=data["override"],
            )
        return Response(s.AppointmentSerializer(appointment).data)


class _AppointmentActionApi(OrganizationScopedMixin, APIView):
    queryset = Appointment.objects.all()
    input_serializer: type[serializers.Serializer]

    def act(self, request, appointment, data):
        raise NotImplementedError

    def post(self, request, pk):
        appointment = get_scoped_or_404(self.queryset, request.organization, pk=pk)
        self.act(request, appointment, _valid(self.input_serializer, request.data))
        appointment.refresh_from_db()
        return Response(s.AppointmentSerializer(appointment).data)


@extend_schema(tags=["appointments"], request=s.AppointmentCancelSerializer, responses=s.AppointmentSerializer)
class AppointmentCancelApi(_AppointmentActionApi):
    input_serializer = s.AppointmentCancelSerializer

    def act(self, request, appointment, data):
        appointment_cancel(appointment=appointment, actor=request.user, by_patient=data["by_patient"],
                           reason=data["reason"], source=EventSource.API)


@extend_schema(tags=["appointments"], request=s.AppointmentStatusSerializer, responses=s.AppointmentSerializer)
class AppointmentStatusApi(_AppointmentActionApi):
    input_serializer = s.AppointmentStatusSerializer

    def act(self, request, appointment, data):
        appointment_status_change(appointment=appointment, to_status=data["status"], actor=request.user,
                                  source=EventSource.API)


@extend_schema(tags=["appointments"], request=s.AppointmentConfirmationSerializer, responses=s.AppointmentSerializer)
class AppointmentConfirmationApi(_AppointmentActionApi):
    input_serializer = s.AppointmentConfirmationSerializer

    def act(self, request, appointment, data):
        appointment_confirmation_set(appointment=appointment, confirmation=data["confirmation"], actor=request.user,
                                     source=EventSource.API)


def _member_user(organization, user_id):
    if user_id is None:
        return None
    membership = Membership.objects.filter(organization=organization, user_id=user_id, is_active=True).first()
    if membership is None:
        raise serializers.ValidationError({"user": [_("Not a member of this organization.")]})
    return membership.user


@extend_schema(tags=["providers"])
class ProviderListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    """Who patients book with; administrators add providers."""

    queryset = Provider.objects.prefetch_related("working_hours").order_by("display_name")
    serializer_class = s.ProviderSerializer
    required_roles_by_method = MANAGERS_WRITE

    @extend_schema(request=s.ProviderSerializer, responses={201: s.ProviderSerializer})
    def post(self, request):
        serializer = s.ProviderSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        provider = provider_create(
            organization=request.organization, display_name=data["display_name"],
            user=_member_user(request.organization, getattr(data.get("user"), "pk", None)),
            color=data.get("color", "#0d6efd"), is_active=data.get("is_active", True),
        )
        return Response(s.ProviderSerializer(provider, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["providers"])
class ProviderDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Provider.objects.prefetch_related("working_hours")
    serializer_class = s.ProviderSerializer
    required_roles_by_method = MANAGERS_WRITE

    @extend_schema(request=s.ProviderSerializer, responses={200: s.ProviderSerializer})
    def patch(self, request, pk):
        provider = self.get_object()
        serializer = s.ProviderSerializer(provider, data=request.data, partial=True, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "user" in data:
            data["user"] = _member_user(request.organization, getattr(data["user"], "pk", None))
        provider = provider_update(provider=provider, data=data)
        return Response(s.ProviderSerializer(provider, context={"request": request}).data)


@extend_schema(tags=["appointment-types"])
class AppointmentTypeListCreateApi(OrganizationScopedMixin, generics.ListAPIView):
    queryset = AppointmentType.objects.order_by("name")
    serializer_class = s.AppointmentTypeSerializer
    required_roles_by_method = MANAGERS_WRITE

    @extend_schema(request=s.AppointmentTypeSerializer, responses={201: s.AppointmentTypeSerializer})
    def post(self, request):
        data = _valid(s.AppointmentTypeSerializer, request.data)
        appointment_type = appointment_type_create(organization=request.organization, **data)
        return Response(s.AppointmentTypeSerializer(appointment_type).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["appointment-types"])
class AppointmentTypeDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = AppointmentType.objects.all()
    serializer_class = s.AppointmentTypeSerializer
    required_roles_by_method = MANAGERS_WRITE

    @extend_schema(request=s.AppointmentTypeSerializer, responses={200: s.AppointmentTypeSerializer})
    def patch(self, request, pk):
        appointment_type = self.get_object()
        serializer = s.AppointmentTypeSerializer(appointment_type, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        appointment_type = appointment_type_update(appointment_type=appointment_type, data=serializer.validated_data)
        return Response(s.AppointmentTypeSerializer(appointment_type).data)


@extend_schema(tags=["appointments"])
class AvailabilityApi(OrganizationScopedMixin, APIView):
    """Free slots for a type between two local days of the clinic, of one provider or any."""

    queryset = Provider.objects.all()

    @extend_schema(parameters=[s.AvailabilityFilterSerializer], responses=s.SlotListSerializer)
    def get(self, request):
        data = _valid(s.AvailabilityFilterSerializer, request.query_params)
        organization = request.organization
        date_to = data.get("date_to") or data["date_from"]
        if date_to < data["date_from"]:
            raise serializers.ValidationError({"date_to": [_("The last day must not be before the first.")]})
        if date_to - data["date_from"] > dt.timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"date_to": [_("At most %(days)s days at once.") % {"days": MAX_DAYS}]})
        slots = availability_list(
            organization=organization,
            appointment_type=_resolve(AppointmentType, organization, "appointment_type", data["appointment_type"]),
            provider=_resolve(Provider, organization, "provider", data.get("provider")),
            date_from=data["date_from"], date_to=date_to,
        )
        return Response({"count": len(slots), "results": s.SlotSerializer(slots, many=True).data})
