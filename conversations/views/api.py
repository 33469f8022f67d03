"""REST endpoints of docs/api.md section 3: the conversation list, per-user state, sync (a
conversation's messages and read cursor: chat/views/messages.py). Thin: actions do the work."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.actions import own_view, sync
from conversations.actions.access import access_membership
from conversations.actions.direct import check_open_direct
from conversations.models import Membership
from conversations.representations import (
    conversation_dict,
    load_conversation_dict,
    with_list_data,
)
from imsite import openapi
from imsite.openapi import PAGING, errors


class ConversationListView(APIView):
    @extend_schema(operation_id="v1_conversations_list",
                   parameters=[OpenApiParameter("hidden", bool, description="true: only the hidden ones"), *PAGING],
                   responses={200: openapi.page_of("ConversationPage", openapi.Conversation)})
    def get(self, request: Request) -> Response:
        return Response(own_view.conversation_list(request.user.id, request.query_params))


class DirectConversationView(APIView):
    @extend_schema(request=inline_serializer("DirectOpen", {"user_id": serializers.IntegerField()}),
                   responses={200: openapi.Conversation, 201: openapi.Conversation,
                              **errors(404, e403="`blocked` or `not_friends`")})
    def post(self, request: Request) -> Response:
        membership, created = check_open_direct(request.user, request.data.get("user_id"))
        data = conversation_dict(with_list_data(Membership.objects.filter(id=membership.id)).get())
        return Response(data, status=201 if created else 200)


class ConversationDetailView(APIView):
    @extend_schema(responses={200: openapi.Conversation})
    def get(self, request: Request, conversation_id: str) -> Response:
        membership = access_membership(request.user.id, conversation_id)
        return Response(load_conversation_dict(request.user.id, membership.conversation_id))

    @extend_schema(request=inline_serializer("ConversationPatch", {
        "pinned": serializers.BooleanField(required=False), "hidden": serializers.BooleanField(required=False),
        "muted": serializers.BooleanField(required=False)}), responses={200: openapi.Conversation},
        examples=[OpenApiExample("pin", {"pinned": True}, request_only=True)])
    def patch(self, request: Request, conversation_id: str) -> Response:
        return Response(own_view.do_update_flags(request.user.id, conversation_id, request.data))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, conversation_id: str) -> Response:
        own_view.do_delete(request.user.id, conversation_id)
        return Response(status=204)


class SyncView(APIView):
    @extend_schema(parameters=[OpenApiParameter("since", str, description="The `token` of the previous sync.")],
                   responses={200: openapi.Sync})
    def get(self, request: Request) -> Response:
        return Response(sync.sync(request.user.id, request.query_params.get("since")))
