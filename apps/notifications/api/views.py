from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from apps.notifications.api.serializers import MessageSerializer
from apps.notifications.forms import MessageFilterForm
from apps.notifications.models import Message
from apps.notifications.outbox import free_text_send
from apps.notifications.selectors import message_list
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.scoping import get_scoped_or_404
from apps.patients.models import Patient


class MessageListApi(OrganizationScopedMixin, generics.ListAPIView):
    """The clinic's WhatsApp messages, newest first; filter with status, kind, direction, patient, date_from,
    date_to (YYYY-MM-DD, the clinic's days). POST sends a free-text message to a patient."""

    serializer_class = MessageSerializer
    queryset = Message.objects.all()

    class SendSerializer(serializers.Serializer):
        patient = serializers.IntegerField()
        body = serializers.CharField(max_length=4096, trim_whitespace=True)

    def get_queryset(self):
        form = MessageFilterForm(self.request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        filters = dict(form.cleaned_data)
        patient = self.request.query_params.get("patient")
        if patient:
            if not patient.isdigit():
                raise serializers.ValidationError({"patient": ["Enter a whole number."]})
            filters["patient"] = int(patient)
        return message_list(organization=self.request.organization, filters=filters)

    @extend_schema(request=SendSerializer, responses={201: MessageSerializer})
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
