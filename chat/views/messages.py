"""One message's reactions and edits (docs/api.md section 9). Thin: the actions decide."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions.edits import check_edit
from chat.actions.messages import message_for
from chat.actions.reactions import check_react
from imsite import openapi
from imsite.openapi import errors


class MessageEditView(APIView):
    @extend_schema(
        summary="Edit your own text message (within IM_EDIT_WINDOW)",
        request=inline_serializer("MessageEdit", {"content": serializers.DictField(
            help_text='`{"text": ..., "mentions"?: [user_id...]}`')}),
        responses={200: openapi.Message, **errors(
            e400="`invalid_content`: not a text message, or bad content",
            e403="`forbidden` (not the sender) or `edit_expired`", e404="`not_found`: no such message, or recalled")})
    def patch(self, request: Request, conversation_id: str, msg_id: str) -> Response:
        message = check_edit(request.user.id, conversation_id, msg_id, request.data.get("content"))
        return Response(message_for(request.user.id, message))


REACTION_REFUSALS = errors(e400="`invalid_content`: not one emoji of at most 32 bytes, or a 21st emoji",
                           e404="`not_found`: no such message, or recalled")


class ReactionView(APIView):
    @extend_schema(summary="React with one emoji (percent-encoded in the path); repeating it changes nothing",
                   request=None, responses={200: openapi.Message, **REACTION_REFUSALS})
    def put(self, request: Request, conversation_id: str, msg_id: str, emoji: str) -> Response:
        message = check_react(request.user.id, conversation_id, msg_id, emoji, True)
        return Response(message_for(request.user.id, message))

    @extend_schema(summary="Take back your reaction (204 also when there was none)", request=None,
                   responses={204: None, **REACTION_REFUSALS})
    def delete(self, request: Request, conversation_id: str, msg_id: str, emoji: str) -> Response:
        check_react(request.user.id, conversation_id, msg_id, emoji, False)
        return Response(status=204)
