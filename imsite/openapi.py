"""The objects of docs/api.md in OpenAPI terms, for `/api/schema` only.

These serializers describe the JSON the views write (they never read or validate anything), so
that the schema names the request and the response of every endpoint. They import nothing of
the apps, so every layer may use them. `ImAutoSchema` adds to every operation the refusals that
follow from its shape (400, 401, 404) with the error body of docs/api.md section 0; views
declare the others with `errors(...)`.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

# --- Errors (docs/api.md section 0) ---------------------------------------------------------------


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, ... (docs/api.md "
                                           "section 0).")
    message = serializers.CharField(help_text="For people; in the user's language.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Validation errors only: each offending field and its messages.")


class Error(serializers.Serializer):
    error = ErrorDetail()


ERROR_CODES = {
    400: "`invalid` (see `fields`)",
    401: "`unauthenticated`: no credentials, or an unknown, expired or revoked token",
    403: "`forbidden`",
    404: "`not_found`: nothing there, or not the caller's to see",
    409: "`conflict`",
    413: "`too_large`",
    415: "`unsupported_media_type`",
    429: "`rate_limited`",
}


def errors(*statuses: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses=...)`: `errors(403, 409)`, or with the codes
    a status carries here, `errors(e403="`not_friends` or `blocked`")`."""
    found = {status: ERROR_CODES[status] for status in statuses}
    found.update({int(key[1:]): text for key, text in descriptions.items()})
    return {status: OpenApiResponse(Error, description=text) for status, text in found.items()}


# --- Objects --------------------------------------------------------------------------------------


class User(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)


class Me(User):
    language = serializers.ChoiceField(["en", "zh-hans"], allow_null=True,
                                       help_text="The user's choice; null before any (docs/api.md section 12).")
    email = serializers.CharField(help_text="Where password-reset mail goes; empty: none.")


class Token(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.ChoiceField(["Bearer"])
    expires_in = serializers.IntegerField(help_text="Seconds the access token lives.")
    scope = serializers.CharField()
    user = User()
    ws_url = serializers.CharField(help_text="The socket address of the least busy connection node.")


class FriendRequest(serializers.Serializer):
    id = serializers.IntegerField()
    from_user = User()
    to_user = User()
    message = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(["pending", "accepted", "rejected", "cancelled"])
    created_at = serializers.DateTimeField()


class Friend(serializers.Serializer):
    user = User()
    since = serializers.DateTimeField()


class ReplyTo(serializers.Serializer):
    msg_id = serializers.CharField()
    seq = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    type = serializers.ChoiceField(["text", "image", "voice", "file", "location", "system"])
    preview = serializers.CharField(allow_blank=True, help_text="A text's first 100 characters; empty otherwise "
                                                                "and once the original is recalled.")
    recalled = serializers.BooleanField()


class Message(serializers.Serializer):
    msg_id = serializers.CharField(help_text="A 64-bit snowflake as a decimal string.")
    conversation_id = serializers.CharField()
    seq = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    type = serializers.ChoiceField(["text", "image", "voice", "file", "location", "system"])
    content = serializers.DictField(help_text="By type (docs/api.md section 3); `{}` once recalled.")
    created_at = serializers.DateTimeField()
    recalled = serializers.BooleanField()
    status = serializers.ChoiceField(["sent", "delivered", "read"], required=False,
                                     help_text="Direct conversations, sender's view only.")
    reply_to = ReplyTo(allow_null=True, help_text="The original of a reply (docs/api.md section 9).")
    reactions = serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()),
                                      help_text="emoji -> user ids, in the order they reacted; `{}` when none.")
    edited_at = serializers.DateTimeField(allow_null=True)
    forwarded = serializers.BooleanField()


class ConversationGroup(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)
    member_count = serializers.IntegerField()
    dissolved = serializers.BooleanField()


class Conversation(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(["direct", "group"])
    peer = User(required=False, help_text="Direct conversations.")
    group = ConversationGroup(required=False, help_text="Group conversations.")
    pinned = serializers.BooleanField()
    hidden = serializers.BooleanField()
    muted = serializers.BooleanField()
    deleted = serializers.BooleanField()
    unread_count = serializers.IntegerField()
    unread_mentions = serializers.IntegerField(help_text="Messages mentioning the caller above `read_seq`.")
    last_message = Message(allow_null=True)
    last_seq = serializers.IntegerField()
    read_seq = serializers.IntegerField()
    peer_read_seq = serializers.IntegerField(required=False, help_text="Direct conversations.")
    updated_at = serializers.DateTimeField()


class Sync(serializers.Serializer):
    conversations = Conversation(many=True)
    token = serializers.CharField(help_text="Pass as `since` next time.")


class Attachment(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(["image", "voice", "file"])
    url = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    width = serializers.IntegerField(required=False)
    height = serializers.IntegerField(required=False)
    thumbnail_url = serializers.CharField(required=False)
    duration_ms = serializers.IntegerField(required=False)


class PushSubscription(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.CharField()
    created_at = serializers.DateTimeField()


class Member(serializers.Serializer):
    user = User()
    role = serializers.ChoiceField(["owner", "admin", "member"])


class Group(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.CharField()
    name = serializers.CharField()
    owner_id = serializers.IntegerField()
    announcement = serializers.CharField(allow_blank=True)
    avatar_url = serializers.CharField(allow_null=True)
    dissolved = serializers.BooleanField()
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    members = Member(many=True)


class ReadReceipts(serializers.Serializer):
    seq = serializers.IntegerField()
    read = serializers.ListField(child=serializers.IntegerField())
    unread = serializers.ListField(child=serializers.IntegerField())


def page_of(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """A list answer of docs/api.md section 0: `{results, next}`."""
    return inline_serializer(name, {
        "results": item(many=True),
        "next": serializers.CharField(allow_null=True, help_text="Repeat the request with `cursor=<next>`."),
    })


PAGING = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="Default 50; above 200 counts as 200."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` of the previous page."),
]


class ImAutoSchema(AutoSchema):
    """Every operation also lists the refusals its shape implies: 400 `invalid` when it takes a
    body or query parameters, 401 when it needs a signed-in user, 404 when its path names
    something. Views add the others (403, 409, ...) with `errors()`."""

    def map_parsers(self) -> list[str]:
        """JSON bodies are the API (docs/api.md section 0); that DRF's default parsers would also
        read a form is not something to advertise. Upload views keep their multipart."""
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                parameter["schema"]["minimum"] = 0  # <int:...> matches digits only
        implied = []
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            implied.append(400)
        if not any(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            implied.append(401)
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            implied.append(404)
        responses = operation["responses"]
        for status in implied:
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(Error, description=ERROR_CODES[status]), str(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def _plain_get(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": summary.split()[0].lower().strip("/"), "summary": summary,
                    "tags": ["operations"], "security": [], "responses": responses}}


def add_operator_endpoints(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: /healthz, /readyz and /metrics are plain Django views
    (no DRF), described here so that the schema holds every endpoint of docs/api.md section 7."""
    health = {"type": "object", "required": ["status", "checks"], "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Each database alias and `redis`: `ok` or `error: <kind>`."}}}
    result["paths"].update({
        "/healthz": _plain_get("/healthz: the process is alive", {"200": {
            "description": "Alive.", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status", "node"], "properties": {
                    "status": {"type": "string", "enum": ["ok"]}, "node": {"type": "string"}}}}}}}),
        "/readyz": _plain_get("/readyz: every database and Redis reachable", {
            "200": {"description": "Ready.", "content": {"application/json": {"schema": health}}},
            "503": {"description": "Not ready.", "content": {"application/json": {"schema": health}}}}),
        "/metrics": _plain_get("/metrics: Prometheus text format", {"200": {
            "description": "django-prometheus and the `im_` series.",
            "content": {"text/plain": {"schema": {"type": "string"}}}}}),
    })
    return result
