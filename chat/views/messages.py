"""A conversation's history, send and read cursor (docs/api.md section 3), one message's reactions and edits
(section 9). Thin: the actions decide."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions.edits import check_edit
from chat.actions.messages import history_page, message_for
from chat.actions.reactions import check_react
from chat.actions.receipts import do_mark_read
from chat.actions.send import check_send_message
from imsite import openapi
from imsite.inputs import read_int
from imsite.openapi import PAGING, errors

SEND_REFUSALS = errors(
    e400="`invalid_content` or `invalid_msg_id` (or `invalid`)", e403="`not_friends`, `blocked` or `forbidden`",
    e409="`group_dissolved`", e429="`rate_limited`: nothing stored; send the same `msg_id` again later")


class MessagesView(APIView):
    @extend_schema(parameters=[OpenApiParameter("after_seq", int, description="Page forward from this seq."),
                               OpenApiParameter("before_seq", int, description="Page backward from this seq."),
                               *PAGING], responses={200: openapi.page_of("MessagePage", openapi.Message)})
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(history_page(request.user.id, conversation_id, request.query_params))

    @extend_schema(request=inline_serializer("MessageSend", {
        "msg_type": serializers.ChoiceField(["text", "image", "voice", "file", "location"], required=False),
        "content": serializers.DictField(required=False, help_text="By `msg_type` (docs/api.md section 3)."),
        "msg_id": serializers.CharField(required=False, help_text="One the caller reserved; the server makes one "
                                                                  "when absent."),
        "reply_to": serializers.CharField(required=False, help_text="msg_id of a message of this conversation"),
        "forward": inline_serializer("ForwardSource", {
            "conversation_id": serializers.CharField(), "msg_id": serializers.CharField()}, required=False,
            help_text="instead of msg_type and content: copy this message")}),
        responses={200: openapi.Message, 201: openapi.Message, **SEND_REFUSALS}, examples=[
            OpenApiExample("text", {"msg_type": "text", "content": {"text": "Hello"}}, request_only=True),
            OpenApiExample("location", {"msg_type": "location", "content": {
                "lat": 31.23, "lng": 121.47, "name": "People's Square"}}, request_only=True)])
    def post(self, request: Request, conversation_id: str) -> Response:
        data = request.data
        result = check_send_message(request.user.id, conversation_id, data.get("msg_type"), data.get("content"),
                                    data.get("msg_id"), reply_to=data.get("reply_to"), forward=data.get("forward"))
        return Response(message_for(request.user.id, result.message), status=201 if result.created else 200)


class ReadView(APIView):
    @extend_schema(request=inline_serializer("ReadCursor", {"seq": serializers.IntegerField(min_value=0)}),
                   responses={200: openapi.Conversation})
    def post(self, request: Request, conversation_id: str) -> Response:
        seq = read_int(request.data.get("seq"), "seq", 0, message=_("Must be a non-negative integer."))
        return Response(do_mark_read(request.user.id, conversation_id, seq))


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
