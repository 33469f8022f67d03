"""Web Push key and subscriptions (docs/api.md section 10). Thin: chat/actions/push.py decides."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions import push
from imsite import openapi


class PushKeyView(APIView):
    @extend_schema(summary="The server's VAPID public key", responses=inline_serializer("PushKey", {
        "vapid_public_key": serializers.CharField(
            help_text="base64url, uncompressed P-256 point: the applicationServerKey of pushManager.subscribe")}))
    def get(self, request: Request) -> Response:
        return Response({"vapid_public_key": push.public_key()})


class PushSubscriptionsView(APIView):
    @extend_schema(summary="The caller's push subscriptions", parameters=openapi.PAGING,
                   responses=openapi.page_of("PushSubscriptionPage", openapi.PushSubscription))
    def get(self, request: Request) -> Response:
        return Response(push.subscription_page(request.user.id, request.query_params))

    @extend_schema(
        summary="Register a browser's PushSubscription",
        request=inline_serializer("PushSubscriptionIn", {
            "endpoint": serializers.CharField(help_text="https on a host of IM_PUSH_HOSTS"),
            "keys": inline_serializer("PushSubscriptionKeys", {"p256dh": serializers.CharField(),
                                                               "auth": serializers.CharField()})}),
        responses={201: openapi.PushSubscription,
                   200: OpenApiResponse(openapi.PushSubscription, description="the same endpoint again")})
    def post(self, request: Request) -> Response:
        subscription, created = push.check_subscribe(request.user, request.data)
        return Response(push.subscription_dict(subscription), status=201 if created else 200)


class PushSubscriptionView(APIView):
    @extend_schema(summary="Forget a push subscription", responses={204: None})
    def delete(self, request: Request, subscription_id: str) -> Response:
        push.do_unsubscribe(request.user.id, subscription_id)
        return Response(status=204)
