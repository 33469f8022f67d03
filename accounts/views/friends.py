"""REST endpoints of docs/api.md section 2 (friends and blocks)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions import friends
from accounts.representations import friend_request_dict, user_dict
from imsite import openapi
from imsite.openapi import PAGING, errors
from imsite.pagination import page_by_id
from imsite.timefmt import iso


class FriendRequestsView(APIView):
    @extend_schema(parameters=[OpenApiParameter("direction", str, enum=["incoming", "outgoing"]), *PAGING],
                   responses={200: openapi.page_of("FriendRequestPage", openapi.FriendRequest)})
    def get(self, request: Request) -> Response:
        qs = friends.pending_requests(request.user, request.query_params.get("direction", "incoming"))
        return Response(page_by_id(qs, request.query_params, friend_request_dict))

    @extend_schema(request=inline_serializer("FriendRequestCreate", {
        "to_user_id": serializers.IntegerField(), "message": serializers.CharField(required=False, max_length=500)}),
        responses={201: openapi.FriendRequest, **errors(404, 409, e403="`blocked`")})
    def post(self, request: Request) -> Response:
        friend_request, _ = friends.check_send_request(
            request.user, request.data.get("to_user_id"), request.data.get("message", ""))
        return Response(friend_request_dict(friend_request), status=201)


class FriendRequestDetailView(APIView):
    @extend_schema(request=None, responses={204: None, **errors(404, 409)}, description=(
        "The requester cancels a pending request (its addressee gets a `friend_request` frame with "
        "status `cancelled`). Anyone else: 404. An answered request: 409."))
    def delete(self, request: Request, request_id: int) -> Response:
        friends.do_cancel(friends.access_outgoing_request(request.user, request_id))
        return Response(status=204)


class FriendRequestAnswerView(APIView):
    answer = "accept"

    @extend_schema(request=None, responses={200: openapi.FriendRequest, **errors(
        e403="`blocked`", e409="`conflict`: already answered")})
    def post(self, request: Request, request_id: int) -> Response:
        friend_request = friends.access_incoming_request(request.user, request_id)
        action = friends.do_accept if self.answer == "accept" else friends.do_reject
        return Response(friend_request_dict(action(friend_request)))


class FriendsView(APIView):
    @extend_schema(parameters=PAGING, responses={200: openapi.page_of("FriendPage", openapi.Friend)})
    def get(self, request: Request) -> Response:
        return Response(page_by_id(friends.friends_of(request.user), request.query_params,
                                   lambda f: {"user": user_dict(f.friend), "since": iso(f.since)}))


class FriendDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, user_id: int) -> Response:
        friends.do_unfriend(request.user, user_id)
        return Response(status=204)


class BlocksView(APIView):
    @extend_schema(parameters=PAGING, responses={200: openapi.page_of("BlockedPage", openapi.User)})
    def get(self, request: Request) -> Response:
        return Response(page_by_id(friends.blocked_users(request.user), request.query_params, user_dict,
                                   descending=False))

    @extend_schema(request=inline_serializer("BlockCreate", {"user_id": serializers.IntegerField()}),
                   responses={201: openapi.User, **errors(404)})
    def post(self, request: Request) -> Response:
        return Response(user_dict(friends.check_block(request.user, request.data.get("user_id"))), status=201)


class BlockDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, user_id: int) -> Response:
        friends.do_unblock(request.user, user_id)
        return Response(status=204)
