"""POST /api/v1/attachments: the bytes decide the type; bad input gets the error of docs/api.md section 3."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chat.models import Attachment
from tests.attachments import samples
from tests.conftest import ALL_DBS

pytestmark = ALL_DBS


def upload(client, kind: str, data: bytes, name: str = "upload.bin", content_type: str = "application/octet-stream"):
    return client.post("/api/v1/attachments", {"kind": kind, "file": SimpleUploadedFile(name, data, content_type)},
                       format="multipart")


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                    ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_images_are_re_encoded_measured_and_thumbnailed(make_user, client_for, fmt, content_type):
    alice = make_user("alice")
    response = upload(client_for(alice), "image", samples.image_bytes(fmt), name="holiday.txt")
    assert response.status_code == 201, response.json()
    body = response.json()
    attachment = Attachment.objects.get(id=body["id"])
    assert body == {"id": attachment.id, "kind": "image", "url": f"/api/v1/attachments/{attachment.id}/file",
                    "name": "holiday.txt", "content_type": content_type, "size": attachment.size,
                    "width": 640, "height": 480, "thumbnail_url": f"/api/v1/attachments/{attachment.id}/thumbnail"}
    with default_storage.open(attachment.file.name) as stored:
        assert Image.open(stored).format == fmt and stored.size == attachment.size
    with default_storage.open(attachment.thumbnail.name) as thumb:
        assert max(Image.open(thumb).size) == 320


def test_animated_gif_keeps_its_frames_and_exif_rotation_is_applied(make_user, client_for):
    client = client_for(make_user("alice"))
    gif = upload(client, "image", samples.animated_gif()).json()
    with default_storage.open(Attachment.objects.get(id=gif["id"]).file.name) as stored:
        assert Image.open(stored).n_frames == 3
    rotated = upload(client, "image", samples.rotated_jpeg()).json()
    assert (rotated["width"], rotated["height"]) == (20, 40)


@pytest.mark.parametrize(("data", "content_type", "duration_ms"), [
    (samples.wav(2250), "audio/wav", 2250), (samples.ogg(2250), "audio/ogg", 2250),
    (samples.webm(duration_ms=2250.0), "audio/webm", 2250),
    (samples.webm((0, 20, 1480), recording=True), "audio/webm", 1480),  # as MediaRecorder writes it
    (samples.m4a(2250), "audio/mp4", 2250), (samples.adts(50), "audio/aac", 1161),
    (samples.mp3(50), "audio/mpeg", 1306), (samples.id3_mp3(), "audio/mpeg", 1306),
])
def test_voice_is_opened_by_its_parser_and_its_duration_read(make_user, client_for, data, content_type, duration_ms):
    response = upload(client_for(make_user("alice")), "voice", data, name="memo.png", content_type="image/png")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type and "thumbnail_url" not in body
    assert abs(body["duration_ms"] - duration_ms) <= duration_ms * 0.01  # MP3 and AAC: estimated from frames


def test_file_keeps_a_sanitized_name(make_user, client_for):
    client = client_for(make_user("alice"))
    for raw, clean in (("../../etc/passwd", "passwd"), ("C:\\Users\\x\\report.pdf", "report.pdf"),
                       ("invoice\u202egpj.exe", "invoicegpj.exe"), ("a" * 300 + ".txt", "a" * 251 + ".txt")):
        body = upload(client, "file", b"%PDF-1.4 whatever", name=raw).json()
        assert body["name"] == clean and body["kind"] == "file" and body["size"] == 17
        assert body["content_type"] == "application/pdf"
        stored = Attachment.objects.get(id=body["id"]).file.name
        assert stored.startswith("attachments/") and clean not in stored  # stored under a random name


def test_clean_name_falls_back_when_nothing_is_left():
    from chat.actions.attachments import clean_name

    assert [clean_name(raw, "file") for raw in ("..", "a/..", "\u202e\u200b", None, "dir/", " x.txt ")] == [
        "file", "file", "file", "file", "file", "x.txt"]


BAD = [
    ("image", b"just some text, not a picture", "photo.png", 415, "unsupported_media_type"),
    ("image", samples.image_bytes("PNG")[:200], "truncated.png", 415, "unsupported_media_type"),
    ("image", samples.image_bytes("BMP"), "bitmap.png", 415, "unsupported_media_type"),
    ("voice", b"hello, this is text", "voice.mp3", 415, "unsupported_media_type"),
    ("voice", b"ID3 and then some text, not a sound at all" * 20, "voice.mp3", 415, "unsupported_media_type"),
    ("voice", samples.mp3(50)[:4], "cut.mp3", 415, "unsupported_media_type"),
    ("voice", samples.ogg(codec=b"\x80theora"), "video.ogg", 415, "unsupported_media_type"),
    ("voice", samples.ogg(codec=b"\x01vorbis"), "broken.ogg", 415, "unsupported_media_type"),  # no real header
    ("voice", samples.webm(tracks=(2, 1)), "video.webm", 415, "unsupported_media_type"),
    ("voice", samples.webm(block_times=()), "silent.webm", 415, "unsupported_media_type"),
    ("voice", samples.webm()[:60], "cut.webm", 415, "unsupported_media_type"),
    ("voice", samples.m4a(handler=b"vide"), "video.m4a", 415, "unsupported_media_type"),
    ("voice", samples.wav()[:44], "header-only.wav", 415, "unsupported_media_type"),
    ("voice", samples.image_bytes("PNG"), "voice.webm", 415, "unsupported_media_type"),
    ("file", b"", "empty.txt", 400, "invalid"),
    ("image", b"", "empty.png", 400, "invalid"),
    ("sticker", b"abc", "x.txt", 400, "invalid"),
]


@pytest.mark.parametrize(("kind", "data", "name", "status", "code"), BAD)
def test_bad_uploads_get_the_contract_error(make_user, client_for, kind, data, name, status, code):
    response = upload(client_for(make_user("alice")), kind, data, name=name, content_type="image/png")
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert not Attachment.objects.exists()


def test_missing_file_or_not_multipart(make_user, client_for):
    client = client_for(make_user("alice"))
    assert client.post("/api/v1/attachments", {"kind": "file"}, format="multipart").status_code == 400
    json = client.post("/api/v1/attachments", {"kind": "file", "file": "x"}, format="json")
    assert json.status_code == 415 and json.json()["error"]["code"] == "unsupported_media_type"


def test_over_size_is_413(make_user, client_for, settings):
    settings.IM_MAX_UPLOAD_BYTES = 1000
    client = client_for(make_user("alice"))
    assert upload(client, "file", b"x" * 1000).status_code == 201
    for size in (1001, 200_000):  # checked after reading, and early from Content-Length
        response = upload(client, "file", b"x" * size)
        assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_decompression_bomb_is_refused(make_user, client_for, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    response = upload(client_for(make_user("alice")), "image", samples.image_bytes("PNG", (200, 200)))
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_upload_needs_authentication():
    from rest_framework.test import APIClient

    response = upload(APIClient(), "file", b"abc")
    assert response.status_code == 401


def test_upload_storage_is_the_default_storage(make_user, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    body = upload(client_for(make_user("alice")), "file", b"hello").json()
    name = Attachment.objects.get(id=body["id"]).file.name
    assert (tmp_path / name).read_bytes() == b"hello"


def test_the_decompression_bomb_limit_is_the_setting():
    from django.conf import settings

    from chat.actions import media  # noqa: F401 (sets the limit on import)

    assert Image.MAX_IMAGE_PIXELS == settings.IM_MAX_IMAGE_PIXELS
