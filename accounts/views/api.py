"""REST endpoints of docs/api.md section 1 (accounts and auth). Thin: actions do the work."""

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions import tokens, users
from accounts.actions.limits import registration_slot
from accounts.representations import me_dict, user_dict
from imsite import openapi
from imsite.i18n import activate_user_language
from imsite.openapi import PAGING, errors
from imsite.pagination import page_by_id


class RegisterView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=inline_serializer("Register", {
        "username": serializers.RegexField(r"^[A-Za-z0-9_]{3,32}$"), "password": serializers.CharField(),
        "display_name": serializers.CharField(required=False, max_length=64)}),
        responses={201: openapi.User, **errors(409, 429)}, examples=[OpenApiExample(
            "register", {"username": "alice_01", "password": "a long passphrase 42", "display_name": "Alice"},
            request_only=True)])
    def post(self, request: Request) -> Response:
        data = request.data
        # The client's address: daphne behind a proxy runs with --proxy-headers (deploy/).
        with registration_slot(request.META.get("REMOTE_ADDR", "")):
            user = users.check_register(data.get("username"), data.get("password"), data.get("display_name", ""))
        return Response(user_dict(user), status=201)


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=inline_serializer("Login", {
        "username": serializers.CharField(), "password": serializers.CharField()}),
        responses={200: openapi.Token, **errors(e401="`unauthenticated`: wrong username or password"),
                   **errors(e429="`rate_limited`: too many failed logins for this username")})
    def post(self, request: Request) -> Response:
        return Response(tokens.check_login(request.data.get("username"), request.data.get("password")))


class RefreshView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=inline_serializer("Refresh", {"refresh_token": serializers.CharField()}),
                   responses={200: openapi.Token, **errors(e401="`unauthenticated`: unknown or used refresh token")})
    def post(self, request: Request) -> Response:
        return Response(tokens.check_refresh(request.data.get("refresh_token")))


class LogoutView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if request.auth is not None and hasattr(request.auth, "token"):
            tokens.do_logout(request.auth)
        else:
            logout(request._request)
        return Response(status=204)


class MeView(APIView):
    @extend_schema(responses={200: openapi.Me})
    def get(self, request: Request) -> Response:
        return Response(me_dict(request.user))

    @extend_schema(request=inline_serializer("MePatch", {
        "display_name": serializers.CharField(required=False),
        "avatar_attachment_id": serializers.IntegerField(required=False, allow_null=True),
        "language": serializers.ChoiceField(choices=["en", "zh-hans"], required=False, allow_null=True),
        "email": serializers.CharField(required=False, allow_blank=True)}),
        responses={200: openapi.Me})
    def patch(self, request: Request) -> Response:
        data = request.data
        user = users.do_update_profile(
            request.user, display_name=data.get("display_name"),
            avatar_attachment_id=data.get("avatar_attachment_id"), set_avatar="avatar_attachment_id" in data,
            language=data.get("language"), set_language="language" in data, email=data.get("email"))
        # The answer (its error messages included) speaks the language just chosen.
        activate_user_language(user)
        return Response(me_dict(user))


class PasswordView(APIView):
    @extend_schema(request=inline_serializer("PasswordChange", {
        "old_password": serializers.CharField(), "new_password": serializers.CharField()}), responses={
        204: None, **errors(e400="`invalid`: a wrong `old_password` or a weak `new_password` (see `fields`)")})
    def post(self, request: Request) -> Response:
        token = request.auth if hasattr(request.auth, "token") else None
        session = tokens.session_tag(request.session.session_key) if token is None else None
        tokens.check_change_password(request.user, request.data.get("old_password"), request.data.get("new_password"),
                                     keep_token_id=token.id if token is not None else None, keep_session=session)
        if token is None:  # signed in by the session cookie: this browser stays signed in
            update_session_auth_hash(request._request, request.user)
        return Response(status=204)


class UsersView(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str, description="Username or display-name prefix."),
                               *PAGING], responses={200: openapi.page_of("UserPage", openapi.User)})
    def get(self, request: Request) -> Response:
        q = request.query_params.get("q", "")
        if not q.strip():
            return Response({"results": [], "next": None})
        return Response(page_by_id(users.search_users(request.user, q), request.query_params, user_dict,
                                   descending=False))
