"""One message's reactions and edits (docs/api.md section 9). Thin: the actions decide."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions.edits import check_edit
from chat.actions.messages import message_for
from chat.actions.reactions import check_react

MESSAGE = OpenApiResponse(description="the message object (docs/api.md sections 3 and 9)")


class MessageEditView(APIView):
    @extend_schema(request=inline_serializer("MessageEdit", {"content": serializers.JSONField(
        help_text='{"text": ..., "mentions"?: [user_id...]}')}), summary="Edit your own text message",
        responses=MESSAGE)
    def patch(self, request: Request, conversation_id: str, msg_id: str) -> Response:
        message = check_edit(request.user.id, conversation_id, msg_id, request.data.get("content"))
        return Response(message_for(request.user.id, message))


class ReactionView(APIView):
    @extend_schema(request=None, summary="React with one emoji (percent-encoded in the path)", responses=MESSAGE)
    def put(self, request: Request, conversation_id: str, msg_id: str, emoji: str) -> Response:
        message = check_react(request.user.id, conversation_id, msg_id, emoji, True)
        return Response(message_for(request.user.id, message))

    @extend_schema(request=None, responses={204: OpenApiResponse(description="removed, or there was none")},
                   summary="Take back your reaction")
    def delete(self, request: Request, conversation_id: str, msg_id: str, emoji: str) -> Response:
        check_react(request.user.id, conversation_id, msg_id, emoji, False)
        return Response(status=204)
