"""REST endpoints of docs/api.md section 4. Thin: the actions hold every rule."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.models import Membership
from groups.actions import manage, members
from groups.actions.access import access_group
from groups.actions.read_by import read_receipts
from groups.representations import group_dict, member_dict
from imsite import openapi
from imsite.openapi import errors

IDS = serializers.ListField(child=serializers.IntegerField())


class GroupsView(APIView):
    @extend_schema(request=inline_serializer("GroupCreate", {"name": serializers.CharField(max_length=64),
                                                             "member_ids": IDS}),
                   responses={201: openapi.Group, **errors(e403="`blocked`", e404="`not_found`: no such user",
                                                           e409="`conflict`: over the member limit")})
    def post(self, request: Request) -> Response:
        group = manage.check_create_group(request.user, request.data.get("name"), request.data.get("member_ids"))
        return Response(group_dict(group), status=201)


class GroupDetailView(APIView):
    @extend_schema(responses={200: openapi.Group})
    def get(self, request: Request, group_id: str) -> Response:
        group, _ = access_group(request.user.id, group_id)
        return Response(group_dict(group))

    @extend_schema(request=inline_serializer("GroupPatch", {
        "name": serializers.CharField(required=False), "announcement": serializers.CharField(required=False),
        "avatar_attachment_id": serializers.IntegerField(required=False, allow_null=True)}),
        responses={200: openapi.Group, **errors(403, 409)},
        examples=[OpenApiExample("announce", {"announcement": "Stand-up at ten."}, request_only=True)])
    def patch(self, request: Request, group_id: str) -> Response:
        return Response(group_dict(manage.check_update_group(request.user.id, group_id, request.data)))

    @extend_schema(responses={204: None, **errors(403, e409="`group_dissolved`: already dissolved")})
    def delete(self, request: Request, group_id: str) -> Response:
        manage.check_dissolve(request.user.id, group_id)
        return Response(status=204)


class MembersView(APIView):
    @extend_schema(request=inline_serializer("GroupAddMembers", {"user_ids": IDS}), responses={
        200: openapi.Group, **errors(e403="`blocked` or `forbidden`", e409="`conflict` (over the member limit) or "
                                                                           "`group_dissolved`")})
    def post(self, request: Request, group_id: str) -> Response:
        group = members.check_add_members(request.user.id, group_id, request.data.get("user_ids"))
        return Response(group_dict(group))


class MemberDetailView(APIView):
    @extend_schema(request=inline_serializer("GroupRole", {
        "role": serializers.ChoiceField(choices=[Membership.Role.ADMIN, Membership.Role.MEMBER])}),
        responses={200: openapi.Member, **errors(403, 409)})
    def patch(self, request: Request, group_id: str, user_id: str) -> Response:
        return Response(member_dict(manage.check_set_role(request.user.id, group_id, user_id,
                                                          request.data.get("role"))))

    @extend_schema(responses={204: None, **errors(403, e409="`conflict`: the owner must transfer first")})
    def delete(self, request: Request, group_id: str, user_id: str) -> Response:
        members.check_remove_member(request.user.id, group_id, user_id)
        return Response(status=204)


class TransferView(APIView):
    @extend_schema(request=inline_serializer("GroupTransfer", {"user_id": serializers.IntegerField()}),
                   responses={200: openapi.Group, **errors(403, 409)})
    def post(self, request: Request, group_id: str) -> Response:
        return Response(group_dict(manage.check_transfer(request.user.id, group_id, request.data.get("user_id"))))


class ReadReceiptsView(APIView):
    @extend_schema(parameters=[OpenApiParameter("seq", int, required=True)], responses={200: openapi.ReadReceipts})
    def get(self, request: Request, group_id: str) -> Response:
        return Response(read_receipts(request.user.id, group_id, request.query_params.get("seq")))
