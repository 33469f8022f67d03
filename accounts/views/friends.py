"""REST endpoints of docs/api.md section 2 (friends and blocks)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions import friends
from accounts.representations import friend_request_dict, user_dict
from imsite.pagination import page_by_id
from imsite.timefmt import iso


class FriendRequestsView(APIView):
    @extend_schema(parameters=[OpenApiParameter("direction", str, enum=["incoming", "outgoing"])])
    def get(self, request: Request) -> Response:
        qs = friends.pending_requests(request.user, request.query_params.get("direction", "incoming"))
        return Response(page_by_id(qs, request.query_params, friend_request_dict))

    @extend_schema(request=inline_serializer("FriendRequestCreate", {
        "to_user_id": serializers.IntegerField(), "message": serializers.CharField(required=False)}))
    def post(self, request: Request) -> Response:
        friend_request, _ = friends.check_send_request(
            request.user, request.data.get("to_user_id"), request.data.get("message", ""))
        return Response(friend_request_dict(friend_request), status=201)


class FriendRequestAnswerView(APIView):
    answer = "accept"

    @extend_schema(request=None)
    def post(self, request: Request, request_id: int) -> Response:
        friend_request = friends.access_incoming_request(request.user, request_id)
        action = friends.do_accept if self.answer == "accept" else friends.do_reject
        return Response(friend_request_dict(action(friend_request)))


class FriendsView(APIView):
    def get(self, request: Request) -> Response:
        return Response(page_by_id(friends.friends_of(request.user), request.query_params,
                                   lambda f: {"user": user_dict(f.friend), "since": iso(f.since)}))


class FriendDetailView(APIView):
    def delete(self, request: Request, user_id: int) -> Response:
        friends.do_unfriend(request.user, user_id)
        return Response(status=204)


class BlocksView(APIView):
    def get(self, request: Request) -> Response:
        return Response(page_by_id(friends.blocked_users(request.user), request.query_params, user_dict,
                                   descending=False))

    @extend_schema(request=inline_serializer("BlockCreate", {"user_id": serializers.IntegerField()}))
    def post(self, request: Request) -> Response:
        return Response(user_dict(friends.check_block(request.user, request.data.get("user_id"))), status=201)


class BlockDetailView(APIView):
    def delete(self, request: Request, user_id: int) -> Response:
        friends.do_unblock(request.user, user_id)
        return Response(status=204)
