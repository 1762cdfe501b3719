from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from apps.notifications.api.serializers import MessageFilterSerializer, MessageSerializer
from apps.notifications.models import Message
from apps.notifications.outbox import free_text_send
from apps.notifications.selectors import message_list
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.models import Patient
from opticaapp.schema import ErrorSerializer


class MessageListApi(OrganizationScopedMixin, generics.ListAPIView):
    """The clinic's WhatsApp messages, newest first; filter with status, kind, direction, patient, date_from,
    date_to (YYYY-MM-DD, the clinic's days). POST sends a free-text message to a patient."""

    serializer_class = MessageSerializer
    queryset = Message.objects.all()

    class SendSerializer(serializers.Serializer):
        patient = serializers.IntegerField()
        body = serializers.CharField(max_length=4096, trim_whitespace=True)

    def get_queryset(self):
        filters = MessageFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return message_list(organization=self.request.organization, filters=filters.validated_data)

    @extend_schema(parameters=[MessageFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SendSerializer, responses={
        201: MessageSerializer,
        404: OpenApiResponse(ErrorSerializer, description="No such patient in this clinic."),
    })
    def post(self, request):
        data = self.SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = get_scoped_or_404(Patient, request.organization, pk=data.validated_data["patient"])
        message = free_text_send(organization=request.organization, patient=patient,
                                 body=data.validated_data["body"], sent_by=request.user)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    serializer_class = MessageSerializer
    queryset = Message.objects.all()
