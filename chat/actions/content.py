"""Content rules of each message type (docs/api.md section 3). Returns the content to store (with
what receivers need, e.g. an attachment's url) and the text to index for search."""

import math
from typing import Any

from django.utils.translation import gettext

from chat.models import Attachment
from imsite.errors import ImError
from imsite.inputs import as_id, as_int, as_number

TEXT_MAX = 5000
CLIENT_TYPES = {"text", "image", "voice", "file", "location"}


def _bad(message: str) -> ImError:
    return ImError("invalid_content", message)


def _number(value: Any, name: str, low: float, high: float) -> float:
    number = as_number(value, -math.inf, math.inf)
    if number is None:
        raise _bad(gettext("%(name)s must be a number.") % {"name": name})
    if not low <= number <= high:
        raise _bad(gettext("%(name)s must be between %(low)s and %(high)s.") %
            {"name": name, "low": f"{low:g}", "high": f"{high:g}"})
    return number


def _optional_text(content: dict, key: str, limit: int) -> str | None:
    value = content.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(gettext("%(name)s must be a string of at most %(count)d characters.") %
            {"name": key, "count": limit})
    return value.strip()


def _attachment(sender_id: int, content: dict, kind: str) -> Attachment:
    attachment_id = as_id(content.get("attachment_id"))
    if attachment_id is None:
        raise _bad(gettext("attachment_id must be an integer."))
    attachment = Attachment.objects.filter(id=attachment_id, uploader_id=sender_id, kind=kind, is_avatar=False).first()
    if attachment is None:
        raise _bad(gettext("attachment_id must be a %(kind)s you uploaded.") % {"kind": kind})
    return attachment


def check_content(sender_id: int, msg_type: Any, content: Any) -> tuple[dict[str, Any], str, Attachment | None]:
    """(stored content, search text, attachment used) or `invalid_content`."""
    if not isinstance(msg_type, str) or msg_type not in CLIENT_TYPES:
        raise _bad(gettext("msg_type must be one of text, image, voice, file, location."))
    if not isinstance(content, dict):
        raise _bad(gettext("content must be an object."))
    if msg_type == "text":
        text = content.get("text")
        if not isinstance(text, str):
            raise _bad(gettext("text must be a string."))
        text = text.strip()
        if not 1 <= len(text) <= TEXT_MAX:
            raise _bad(gettext("text must be 1 to %(count)d characters.") % {"count": TEXT_MAX})
        return {"text": text}, text.lower(), None
    if msg_type == "location":
        stored: dict[str, Any] = {"lat": _number(content.get("lat"), "lat", -90, 90),
                                  "lng": _number(content.get("lng"), "lng", -180, 180)}
        for key, limit in (("name", 200), ("address", 500)):
            value = _optional_text(content, key, limit)
            if value:
                stored[key] = value
        return stored, " ".join(stored.get(k, "") for k in ("name", "address")).strip().lower(), None
    attachment = _attachment(sender_id, content, msg_type)
    url = f"/api/v1/attachments/{attachment.id}/file"
    if msg_type == "image":
        return {"attachment_id": attachment.id, "url": url, "width": attachment.width, "height": attachment.height,
                "thumbnail_url": f"/api/v1/attachments/{attachment.id}/thumbnail"}, "", attachment
    if msg_type == "voice":
        duration = as_int(content.get("duration_ms"), 1, 300000)
        if duration is None:
            raise _bad(gettext("duration_ms must be an integer from 1 to 300000."))
        return {"attachment_id": attachment.id, "duration_ms": duration, "url": url}, "", attachment
    return ({"attachment_id": attachment.id, "url": url, "name": attachment.name, "size": attachment.size},
            attachment.name.lower(), attachment)
