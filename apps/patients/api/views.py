from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.models import Role
from apps.patients.api.serializers import (
    AddendumSerializer,
    PatientFilterSerializer,
    PatientSerializer,
    PrescriptionFilterSerializer,
    PrescriptionSerializer,
    VisitFilterSerializer,
    VisitSerializer,
)
from apps.patients.models import AuditSource, Patient, Prescription, Visit
from apps.patients.selectors import may_write_prescription_drafts, patient_list, prescription_list, visit_list
from apps.patients.services import (
    patient_create,
    patient_update,
    prescription_create,
    prescription_finalize,
    prescription_update,
    visit_addendum_create,
    visit_create,
    visit_sign,
    visit_update,
)

OPTOMETRIST_ONLY = (Role.OPTOMETRIST,)
WRITES_BY_OPTOMETRISTS = {method: OPTOMETRIST_ONLY for method in ("POST", "PUT", "PATCH")}


def _filters(serializer_class, request) -> dict:
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data


def _unchanged(serializer, field):
    if field in serializer.validated_data and serializer.validated_data[field] != getattr(serializer.instance, field):
        raise serializers.ValidationError({field: ["This cannot be changed."]})
    serializer.validated_data.pop(field, None)


@extend_schema(tags=["patients"])
class PatientListCreateApi(OrganizationScopedMixin, generics.ListCreateAPIView):
    """Patients of the caller's clinic. `q` searches names (accents and case ignored), documents and phones."""

    queryset = Patient.objects.all()
    serializer_class = PatientSerializer

    def get_queryset(self):
        if self.request.method != "GET":
            return super().get_queryset()
        return patient_list(organization=self.request.organization,
                            filters={**_filters(PatientFilterSerializer, self.request),
                                     "query": self.request.query_params.get("q", "")})

    @extend_schema(parameters=[PatientFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = patient_create(organization=self.request.organization, actor=self.request.user,
                                             source=AuditSource.API, **serializer.validated_data)


@extend_schema(tags=["patients"])
class PatientDetailApi(OrganizationScopedMixin, generics.RetrieveUpdateAPIView):
    queryset = Patient.objects.all()
    serializer_class = PatientSerializer

    def perform_update(self, serializer):
        serializer.instance = patient_update(patient=serializer.instance, data=serializer.validated_data,
                                             actor=self.request.user, source=AuditSource.API)


@extend_schema(tags=["visits"])
class VisitListCreateApi(OrganizationScopedMixin, generics.ListCreateAPIView):
    """Clinical visits; optometrists write them."""

    queryset = Visit.objects.all()
    serializer_class = VisitSerializer
    required_roles_by_method = WRITES_BY_OPTOMETRISTS

    def get_queryset(self):
        queryset = super().get_queryset().prefetch_related("addenda")
        if self.request.method != "GET":
            return queryset
        return visit_list(organization=self.request.organization,
                          filters=_filters(VisitFilterSerializer, self.request)).prefetch_related("addenda")

    @extend_schema(parameters=[VisitFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = visit_create(organization=self.request.organization, actor=self.request.user,
                                           source=AuditSource.API, **serializer.validated_data)


@extend_schema(tags=["visits"])
class VisitDetailApi(OrganizationScopedMixin, generics.RetrieveUpdateAPIView):
    """A signed visit cannot be changed (400): add an addendum."""

    queryset = Visit.objects.prefetch_related("addenda")
    serializer_class = VisitSerializer
    required_roles_by_method = WRITES_BY_OPTOMETRISTS

    def perform_update(self, serializer):
        _unchanged(serializer, "patient")
        serializer.instance = visit_update(visit=serializer.instance, data=serializer.validated_data,
                                           actor=self.request.user, source=AuditSource.API)


@extend_schema(tags=["visits"])
class VisitSignApi(OrganizationScopedMixin, generics.GenericAPIView):
    """The visit's optometrist signs it; it cannot be edited afterwards."""

    queryset = Visit.objects.all()
    serializer_class = VisitSerializer
    required_roles = OPTOMETRIST_ONLY

    @extend_schema(request=None, responses=VisitSerializer)
    def post(self, request, pk):
        visit = visit_sign(visit=self.get_object(), actor=request.user, source=AuditSource.API)
        return Response(VisitSerializer(Visit.objects.prefetch_related("addenda").get(pk=visit.pk),
                                        context=self.get_serializer_context()).data)


@extend_schema(tags=["visits"])
class VisitAddendumCreateApi(OrganizationScopedMixin, generics.GenericAPIView):
    """Add a correction to a signed visit."""

    queryset = Visit.objects.all()
    serializer_class = AddendumSerializer
    required_roles = OPTOMETRIST_ONLY

    @extend_schema(request=AddendumSerializer, responses={201: AddendumSerializer})
    def post(self, request, pk):
        data = AddendumSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        addendum = visit_addendum_create(visit=self.get_object(), actor=request.user,
                                         text=data.validated_data["text"], source=AuditSource.API)
        return Response(AddendumSerializer(addendum).data, status=status.HTTP_201_CREATED)


class WritesPrescriptionDrafts(BasePermission):
    """Every member reads; optometrists write drafts (any member, if the clinic allows staff drafts)."""

    message = "Only an optometrist can write a prescription."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or may_write_prescription_drafts(user=request.user,
                                                                               organization=request.organization)


@extend_schema(tags=["prescriptions"])
class PrescriptionListCreateApi(OrganizationScopedMixin, generics.ListCreateAPIView):
    """Optical prescriptions (per eye: od_* right, os_* left). New ones are drafts, written by optometrists
    (by any member when the clinic allows staff drafts)."""

    queryset = Prescription.objects.all()
    serializer_class = PrescriptionSerializer
    permission_classes = [*OrganizationScopedMixin.permission_classes, WritesPrescriptionDrafts]

    def get_queryset(self):
        if self.request.method != "GET":
            return super().get_queryset()
        return prescription_list(organization=self.request.organization,
                                 filters=_filters(PrescriptionFilterSerializer, self.request))

    @extend_schema(parameters=[PrescriptionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        patient = data.pop("patient")
        serializer.instance = prescription_create(organization=self.request.organization, patient=patient,
                                                  data=data, actor=self.request.user, source=AuditSource.API)


@extend_schema(tags=["prescriptions"])
class PrescriptionDetailApi(OrganizationScopedMixin, generics.RetrieveUpdateAPIView):
    """Only drafts can be changed (400 otherwise), by those who may write them (403 otherwise)."""

    queryset = Prescription.objects.all()
    serializer_class = PrescriptionSerializer
    permission_classes = [*OrganizationScopedMixin.permission_classes, WritesPrescriptionDrafts]

    def perform_update(self, serializer):
        _unchanged(serializer, "patient")
        serializer.instance = prescription_update(prescription=serializer.instance, data=serializer.validated_data,
                                                  actor=self.request.user, source=AuditSource.API)


@extend_schema(tags=["prescriptions"])
class PrescriptionFinalizeApi(OrganizationScopedMixin, generics.GenericAPIView):
    """An optometrist finalizes a draft; the patient's previous final prescription of the kind is superseded."""

    queryset = Prescription.objects.all()
    serializer_class = PrescriptionSerializer
    required_roles = OPTOMETRIST_ONLY

    @extend_schema(request=None, responses=PrescriptionSerializer)
    def post(self, request, pk):
        prescription = prescription_finalize(prescription=self.get_object(), actor=request.user,
                                             source=AuditSource.API)
        return Response(PrescriptionSerializer(prescription, context=self.get_serializer_context()).data)
