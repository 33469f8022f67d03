"""What an uploaded file's bytes are (never its name or declared type): images are decoded and
re-encoded with Pillow (which also drops metadata such as GPS tags), audio containers are told by
their signatures. Content types are the ones registered in docs/api.md section 3."""

import io
import struct
from dataclasses import dataclass

import puremagic
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from imsite.errors import ImError

# Pillow format name -> (registered content type, file extension).
IMAGE_FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
AUDIO_EXTENSIONS = {
    "audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/aac": "aac", "audio/mpeg": "mp3",
    "audio/wav": "wav",
}
THUMBNAIL_EDGE = 320
# First packets of the audio codecs an Ogg stream may carry (a Theora video is not a voice).
OGG_AUDIO = (b"OpusHead", b"\x01vorbis", b"\x7fFLAC", b"Speex   ")


def unsupported(message: str) -> ImError:
    return ImError("unsupported_media_type", message)


@dataclass
class DecodedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_extension: str


def _pixels_guard(image: Image.Image) -> None:
    """Refuse decompression bombs before decoding: every frame counts (an animated GIF of many
    large frames is as expensive as one huge frame)."""
    frames = getattr(image, "n_frames", 1)
    if image.width * image.height * frames > Image.MAX_IMAGE_PIXELS:
        raise ImError("too_large", _("The image has too many pixels."))


def _encode(image: Image.Image, fmt: str, animated: bool) -> bytes:
    out = io.BytesIO()
    if animated:
        image.save(out, fmt, save_all=True, loop=image.info.get("loop", 0),
                   duration=image.info.get("duration", 100))
    elif fmt == "JPEG":
        image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(out, fmt, quality=90)
    elif fmt == "GIF":
        image.save(out, fmt)
    else:
        image.save(out, fmt, **({"quality": 90} if fmt == "WEBP" else {}))
    return out.getvalue()


def _thumbnail(image: Image.Image) -> tuple[bytes, str]:
    """At most THUMBNAIL_EDGE px on each side: JPEG, or PNG when the image has transparency."""
    image.seek(0)
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    frame = image.convert("RGBA" if alpha else "RGB")
    frame.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    out = io.BytesIO()
    frame.save(out, "PNG" if alpha else "JPEG", quality=85)
    return out.getvalue(), "png" if alpha else "jpg"


def decode_image(data: bytes) -> DecodedImage:
    """Decode fully (a truncated or corrupt file fails here), re-encode, make the thumbnail."""
    try:
        with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
            fmt = image.format
            _pixels_guard(image)
            animated = getattr(image, "n_frames", 1) > 1
            if animated:
                for index in range(image.n_frames):  # decode every frame: truncation shows anywhere
                    image.seek(index)
                    image.load()
                image.seek(0)
                upright = image
            else:
                image.load()
                # The re-encoded file has no EXIF, so turn the pixels as the orientation tag said.
                upright = ImageOps.exif_transpose(image) if fmt in ("JPEG", "WEBP") else image
            content_type, extension = IMAGE_FORMATS[fmt]
            encoded = _encode(upright, fmt, animated)
            thumbnail, thumbnail_extension = _thumbnail(upright)
            return DecodedImage(encoded, content_type, extension, upright.width, upright.height, thumbnail,
                          thumbnail_extension)
    except Image.DecompressionBombError:
        raise ImError("too_large", _("The image has too many pixels.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise unsupported(_("Not a PNG, JPEG, GIF or WebP image that decodes.")) from None


def _adts_frame(data: bytes, offset: int) -> int:
    """The length of the ADTS (AAC) frame at offset, or 0 when there is none."""
    if len(data) < offset + 7 or data[offset] != 0xFF or data[offset + 1] & 0xF6 != 0xF0:
        return 0
    return ((data[offset + 3] & 0x03) << 11) | (data[offset + 4] << 3) | (data[offset + 5] >> 5)


def _mp3_frame(data: bytes) -> bool:
    """An MPEG audio frame header: sync, a layer (not the reserved 00 of ADTS), a valid bitrate
    and sample-rate index."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
    return version != 1 and layer != 0 and (data[2] >> 4) not in (0, 15) and (data[2] >> 2) & 3 != 3


def _ogg_audio(data: bytes) -> bool:
    if len(data) < 28 or not data.startswith(b"OggS"):
        return False
    packet = 27 + data[26]  # after the page header and its segment table
    return data[packet:packet + 8].startswith(OGG_AUDIO)


def audio_type(data: bytes) -> str | None:
    """The registered content type of an audio container, from its signature, or None.

    A table rather than puremagic: puremagic answers with extension guesses ranked by confidence
    (EBML as .mkv or .webm, ADTS and MP3 sync words confused, non-registered names like
    audio/x-wav), so it would need this mapping anyway; six signatures are easier to test."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if _ogg_audio(data):
        return "audio/ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:  # EBML header, DocType webm
        return "audio/webm"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data[:4] == b"ADIF":
        return "audio/aac"
    length = _adts_frame(data, 0)
    if length >= 7 and (len(data) <= length or _adts_frame(data, length)):  # the next frame lines up too
        return "audio/aac"
    if data[:3] == b"ID3" or _mp3_frame(data):
        return "audio/mpeg"
    return None


def wav_duration_ms(data: bytes) -> int | None:
    """Duration of a PCM WAV from its fmt byte rate and data size (cheap: header only)."""
    offset, byte_rate = 12, 0
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        if chunk == b"fmt " and size >= 16 and offset + 20 <= len(data):
            byte_rate = struct.unpack("<I", data[offset + 16:offset + 20])[0]
        elif chunk == b"data":
            if not byte_rate:
                return None
            return min(size, len(data) - offset - 8) * 1000 // byte_rate  # streamed files say 0xFFFFFFFF
        offset += 8 + size + (size & 1)
    return None


def file_type(data: bytes) -> str:
    """A best guess for a plain file (served as a download with nosniff, so only a hint)."""
    try:
        guess = puremagic.from_string(data, mime=True)
    except (puremagic.PureError, ValueError):
        guess = ""
    return guess or "application/octet-stream"
