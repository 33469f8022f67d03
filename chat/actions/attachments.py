"""Attachments (docs/api.md section 3): upload, who may fetch one, and avatars.

Files go through Django's default storage (settings.STORAGES["default"]: a folder under the data
directory unless configured otherwise), under a random name: the client's name is kept only as
the sanitized display name of a `file`.
"""

import os
import unicodedata
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.models import User
from chat.actions import media
from chat.models import Attachment, AttachmentUse
from conversations.models import Membership
from imsite.errors import ImError, invalid, not_found
from imsite.inputs import as_id

NAME_MAX = 255
THUMBNAIL_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def clean_name(raw: object, fallback: str) -> str:
    """The last path component, without control or format characters (e.g. a right-to-left
    override that disguises an extension), at most NAME_MAX characters, extension kept."""
    name = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ").strip()
    if name in ("", ".", ".."):
        return fallback
    if len(name) > NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: NAME_MAX - len(ext)] + ext
    return name


def attachment_dict(attachment: Attachment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": attachment.id,
        "kind": attachment.kind,
        "url": f"/api/v1/attachments/{attachment.id}/file",
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }
    if attachment.kind == Attachment.Kind.IMAGE:
        data.update(width=attachment.width, height=attachment.height,
                    thumbnail_url=f"/api/v1/attachments/{attachment.id}/thumbnail")
    if attachment.duration_ms is not None:
        data["duration_ms"] = attachment.duration_ms
    return data


def check_upload_size(content_length: str | None) -> None:
    """Refuse early from the request's Content-Length (before the body is read), with room for
    the multipart envelope; the file's own size is checked again once read."""
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    if declared > settings.IM_MAX_UPLOAD_BYTES + 64 * 1024:
        raise ImError("too_large", _("Files are limited to %(count)d bytes.") % {"count": settings.IM_MAX_UPLOAD_BYTES})


def check_upload(user: User, kind: Any, upload: Any) -> Attachment:
    """Validate the bytes for the kind and store the attachment."""
    if kind not in Attachment.Kind.values:
        raise invalid({"kind": [_("Must be image, voice or file.")]})
    if upload is None or not hasattr(upload, "read"):
        raise invalid({"file": [_("A file is required.")]})
    if upload.size == 0:
        raise invalid({"file": [_("The file is empty.")]})
    if upload.size > settings.IM_MAX_UPLOAD_BYTES:
        raise ImError("too_large", _("Files are limited to %(count)d bytes.") % {"count": settings.IM_MAX_UPLOAD_BYTES})
    data = upload.read()
    name = clean_name(upload.name, kind)
    attachment = Attachment(uploader=user, kind=kind, name=name)
    stored_as = uuid.uuid4().hex
    if kind == Attachment.Kind.IMAGE:
        image = media.decode_image(data)
        data = image.data
        attachment.content_type, attachment.width, attachment.height = image.content_type, image.width, image.height
        extension = image.extension
        attachment.thumbnail.save(f"{stored_as}.{image.thumbnail_extension}", ContentFile(image.thumbnail),
                                  save=False)
    elif kind == Attachment.Kind.VOICE:
        attachment.content_type, attachment.duration_ms = media.read_audio(data)
        extension = media.AUDIO_EXTENSIONS[attachment.content_type]
    else:
        attachment.content_type, extension = media.file_type(data), "bin"
    attachment.size = len(data)
    attachment.file.save(f"{stored_as}.{extension}", ContentFile(data), save=False)
    attachment.save()
    return attachment


def access_attachment(user_id: int, raw_id: Any) -> Attachment:
    """An attachment the user may fetch: their own upload, one sent in a conversation they are an
    active member of, or an avatar. Anyone else gets `not_found` (existence is not revealed)."""
    attachment_id = as_id(raw_id, strings=True)  # from the path
    if attachment_id is None:
        raise not_found(_("No such attachment."))
    shared = AttachmentUse.objects.filter(attachment_id=OuterRef("id")).filter(
        Exists(Membership.objects.filter(conversation_id=OuterRef("conversation_id"), user_id=user_id, active=True)))
    attachment = (Attachment.objects.filter(id=attachment_id)
                  .filter(Q(uploader_id=user_id) | Q(is_avatar=True) | Exists(shared)).first())
    if attachment is None:
        raise not_found(_("No such attachment."))
    return attachment


def thumbnail_type(attachment: Attachment) -> str:
    if not attachment.thumbnail:
        raise not_found(_("This attachment has no thumbnail."))
    return THUMBNAIL_TYPES[attachment.thumbnail.name.rsplit(".", 1)[-1]]


def check_avatar_image(user_id: int, raw_id: Any, *, field: str) -> Attachment | None:
    """An image the user uploaded, made an avatar (readable by every signed-in user), or None to
    clear the avatar; `invalid` on `field` otherwise. Users and groups share this rule."""
    if raw_id is None:
        return None
    attachment_id = as_id(raw_id)
    attachment = attachment_id and Attachment.objects.filter(id=attachment_id, uploader_id=user_id,
                                                             kind=Attachment.Kind.IMAGE).first()
    if attachment is None:
        raise invalid({field: [_("Must be an image you uploaded.")]})
    if not attachment.is_avatar:
        Attachment.objects.filter(id=attachment.id).update(is_avatar=True)
        attachment.is_avatar = True
    return attachment
