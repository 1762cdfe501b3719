from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.appointments.api.views import _resolve, _valid
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.models import Patient
from apps.recalls.api import serializers as s
from apps.recalls.models import Recall
from apps.recalls.selectors import recall_list
from apps.recalls.services import recall_send_whatsapp, recall_status_set


@extend_schema(tags=["recalls"])
class RecallListApi(OrganizationScopedMixin, generics.ListAPIView):
    """Patients to call back under the clinic's recall rules, by status, rule kind or patient."""

    queryset = Recall.objects.all()
    serializer_class = s.RecallSerializer

    def get_queryset(self):
        filters = _valid(s.RecallFilterSerializer, self.request.query_params)
        if filters.get("patient"):
            _resolve(Patient, self.request.organization, "patient", filters["patient"])
        return recall_list(organization=self.request.organization, filters=filters)

    @extend_schema(parameters=[s.RecallFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["recalls"])
class RecallDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Recall.objects.select_related("patient", "rule")
    serializer_class = s.RecallSerializer

    @extend_schema(request=s.RecallStatusSerializer, responses={200: s.RecallSerializer})
    def patch(self, request, pk):
        recall = self.get_object()
        data = _valid(s.RecallStatusSerializer, request.data)
        recall = recall_status_set(recall=recall, status=data["status"], actor=request.user)
        return Response(s.RecallSerializer(recall).data)


@extend_schema(tags=["recalls"], request=None, responses=s.RecallSerializer)
class RecallSendApi(OrganizationScopedMixin, APIView):
    """Queue the recall's WhatsApp message with its "book" button (after quiet hours, with consent)."""

    queryset = Recall.objects.all()

    def post(self, request, pk):
        recall = get_scoped_or_404(Recall.objects.select_related("patient", "message"), request.organization, pk=pk)
        recall = recall_send_whatsapp(recall=recall, actor=request.user)
        return Response(s.RecallSerializer(recall).data)
