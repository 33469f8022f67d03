"""Attachment upload and download (docs/api.md section 3). Thin: chat/actions/attachments.py decides."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.actions import attachments
from chat.models import Attachment
from imsite import openapi
from imsite.openapi import errors


class AttachmentUploadView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": inline_serializer("AttachmentUpload", {
        "file": serializers.FileField(), "kind": serializers.ChoiceField(["image", "voice", "file"])})},
        responses={201: openapi.Attachment, **errors(413, 415)})
    def post(self, request: Request) -> Response:
        attachments.check_upload_size(request.META.get("CONTENT_LENGTH"))
        attachment = attachments.check_upload(request.user, request.data.get("kind"), request.FILES.get("file"))
        return Response(attachments.attachment_dict(attachment), status=201)


def _serve(attachment: Attachment, stored, content_type: str) -> FileResponse:
    # A `file` always downloads; images and voice may show inline. nosniff: browsers must not
    # second-guess the type we checked.
    response = FileResponse(stored.open("rb"), content_type=content_type,
                            as_attachment=attachment.kind == Attachment.Kind.FILE, filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=86400"  # immutable bytes, but only for this user
    return response


class AttachmentFileView(APIView):
    @extend_schema(responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file's bytes.")})
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        attachment = attachments.access_attachment(request.user.id, attachment_id)
        return _serve(attachment, attachment.file, attachment.content_type)


class AttachmentThumbnailView(APIView):
    @extend_schema(responses={(200, "image/*"): OpenApiResponse(
        OpenApiTypes.BINARY, description="A JPEG or PNG at most 320 px on each side.")})
    def get(self, request: Request, attachment_id: str) -> FileResponse:
        attachment = attachments.access_attachment(request.user.id, attachment_id)
        return _serve(attachment, attachment.thumbnail, attachments.thumbnail_type(attachment))
