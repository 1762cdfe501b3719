from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.common.exceptions import ApplicationError
from apps.inbox import selectors, services
from apps.inbox.api.serializers import (
    ConversationMessageSerializer,
    ConversationSerializer,
    ConversationUpdateSerializer,
    ReplySerializer,
)
from apps.inbox.models import Conversation
from apps.organizations.api.mixins import OrganizationScopedMixin


class _ConversationMixin(OrganizationScopedMixin):
    queryset = Conversation.objects.all()

    def get_conversation(self, pk) -> Conversation:
        conversation = selectors.conversation_get(organization=self.request.organization, pk=pk)
        if conversation is None:
            raise Http404
        return conversation


class ConversationListApi(_ConversationMixin, GenericAPIView):
    serializer_class = ConversationSerializer

    @extend_schema(operation_id="conversations_list", responses=ConversationSerializer(many=True), parameters=[
        OpenApiParameter("filter", str, enum=list(selectors.FILTERS), description="default: all"),
        OpenApiParameter("q", str, description="search by name, phone or message text"),
    ])
    def get(self, request):
        current = request.query_params.get("filter") or "all"
        if current not in selectors.FILTERS:
            raise ApplicationError(_("Unknown filter."), field="filter")
        conversations = selectors.conversation_list(organization=request.organization, user=request.user,
                                                    filter=current, query=request.query_params.get("q", ""))
        page = self.paginate_queryset(conversations)
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)


class ConversationDetailApi(_ConversationMixin, GenericAPIView):
    serializer_class = ConversationSerializer

    def get(self, request, pk):
        conversation = self.get_conversation(pk)
        data = ConversationSerializer(conversation).data
        data["messages"] = ConversationMessageSerializer(
            selectors.conversation_messages(conversation=conversation), many=True).data
        return Response(data)

    @extend_schema(request=ConversationUpdateSerializer, responses=ConversationSerializer)
    def patch(self, request, pk):
        conversation = self.get_conversation(pk)
        data = ConversationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "state" in data.validated_data:
            services.conversation_state_set(conversation=conversation, state=data.validated_data["state"])
        if "assigned_to" in data.validated_data:
            user_id = data.validated_data["assigned_to"]
            # Only this clinic's members are looked up: another clinic's user and a missing id answer alike.
            membership = (selectors.assignable_members(organization=request.organization)
                          .filter(user_id=user_id).first() if user_id else None)
            if user_id and membership is None:
                raise ApplicationError(_("Choose a member of this clinic."), field="assigned_to")
            services.conversation_assign(conversation=conversation, user=membership.user if membership else None)
        return Response(ConversationSerializer(self.get_conversation(pk)).data)


class ConversationReplyApi(_ConversationMixin, GenericAPIView):
    serializer_class = ReplySerializer

    @extend_schema(request=ReplySerializer, responses={201: ConversationMessageSerializer})
    def post(self, request, pk):
        conversation = self.get_conversation(pk)
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.conversation_reply(conversation=conversation, body=data.validated_data["body"],
                                              user=request.user)
        return Response(ConversationMessageSerializer(message).data, status=status.HTTP_201_CREATED)
