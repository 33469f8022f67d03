"""GET /api/v1/messages/search (docs/api.md section 3). Thin: chat/actions/search.py decides."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions.search import search_messages
from imsite import openapi
from imsite.openapi import PAGING, errors


class MessageSearchView(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str, required=True, description="At least one character."),
                               OpenApiParameter("conversation_id", str), *PAGING],
                   responses={200: openapi.page_of("SearchPage", openapi.Message),
                              **errors(e404="`not_found`: `conversation_id` is not one of the caller's")})
    def get(self, request: Request) -> Response:
        return Response(search_messages(request.user.id, request.query_params))
