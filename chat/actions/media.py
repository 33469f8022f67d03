"""What an uploaded file's bytes are (never its name or declared type): images are decoded and
re-encoded with Pillow (which also drops metadata such as GPS tags); audio is opened by a parser
made for its container (mutagen; WebM by the small EBML reader below, which mutagen lacks), must
hold an audio stream, and its duration is read from it. Content types are the ones registered in
docs/api.md section 3."""

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import mutagen
import puremagic
from django.conf import settings
from django.utils.translation import gettext as _
from mutagen.aac import AAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image, ImageOps, UnidentifiedImageError

from imsite.errors import ImError

# Pillow refuses (DecompressionBombError) above twice this and warns above it; _pixels_guard
# refuses above it, counting every frame.
Image.MAX_IMAGE_PIXELS = settings.IM_MAX_IMAGE_PIXELS

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
# First packets of the audio codecs an Ogg stream may carry (a Theora video is not a voice), and
# the parser of each.
OGG_AUDIO = {b"OpusHead": OggOpus, b"\x01vorbis": OggVorbis, b"\x7fFLAC": OggFLAC, b"Speex   ": OggSpeex}


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


def _ogg_codec(data: bytes) -> bytes | None:
    if len(data) < 28 or not data.startswith(b"OggS"):
        return None
    packet = 27 + data[26]  # after the page header and its segment table
    return next((codec for codec in OGG_AUDIO if data[packet:packet + 8].startswith(codec)), None)


def audio_type(data: bytes) -> str | None:
    """The registered content type of an audio container, from its signature, or None: which
    parser is to open it (read_audio).

    A table rather than puremagic: puremagic answers with extension guesses ranked by confidence
    (EBML as .mkv or .webm, ADTS and MP3 sync words confused, non-registered names like
    audio/x-wav), so it would need this mapping anyway; six signatures are easier to test."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if _ogg_codec(data):
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


# --- WebM (Matroska) ------------------------------------------------------------------------------
# Element ids (with their length marker) of what is read: the EBML header's DocType, the
# segment's Info (TimecodeScale, Duration), Tracks (TrackEntry, TrackType) and Clusters
# (Timecode, SimpleBlock, BlockGroup/Block). Recorders (MediaRecorder) write the segment and
# clusters with an unknown size and no Duration: then the last block's time is the duration.
EBML, DOC_TYPE, SEGMENT, INFO, TIMECODE_SCALE, DURATION = 0x1A45DFA3, 0x4282, 0x18538067, 0x1549A966, 0x2AD7B1, 0x4489
TRACKS, TRACK_ENTRY, TRACK_TYPE, CLUSTER, TIMECODE = 0x1654AE6B, 0xAE, 0x83, 0x1F43B675, 0xE7
SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0xA3, 0xA0, 0xA1
SEGMENT_CHILDREN = {0x114D9B74, INFO, TRACKS, CLUSTER, 0x1C53BB6B, 0x1043A770, 0x1254C367, 0x1941A469}
AUDIO_TRACK, VIDEO_TRACK = 2, 1


class EbmlError(ValueError):
    pass


def _vint(data: bytes, offset: int, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer at offset: (value, next offset); value None for a size
    of all ones (unknown)."""
    if offset >= len(data) or data[offset] == 0:
        raise EbmlError("bad variable-length integer")
    length = 9 - data[offset].bit_length()
    raw = int.from_bytes(data[offset:offset + length], "big")
    if offset + length > len(data):
        raise EbmlError("truncated")
    if keep_marker:
        return raw, offset + length
    value = raw & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), offset + length


def _elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, body start, body end) of the elements between start and end. A segment of unknown
    size runs to the end; a cluster of unknown size up to the next element of the segment."""
    offset = start
    while offset < end:
        element, offset = _vint(data, offset, keep_marker=True)
        size, offset = _vint(data, offset, keep_marker=False)
        if size is not None:
            body_end = min(offset + size, end)
        elif element == SEGMENT:
            body_end = end
        else:
            body_end = _level_end(data, offset, end)
        yield element, offset, body_end  # type: ignore[misc]
        offset = body_end


def _level_end(data: bytes, offset: int, end: int) -> int:
    while offset < end:
        element, after_id = _vint(data, offset, keep_marker=True)
        if element in SEGMENT_CHILDREN:
            return offset
        size, after_size = _vint(data, after_id, keep_marker=False)
        if size is None:
            return end
        offset = after_size + size
    return end


def _uint(data: bytes, start: int, end: int) -> int:
    return int.from_bytes(data[start:end], "big")


def webm_audio_seconds(data: bytes) -> float:
    """The duration of a WebM file that has an audio track, no video track and audio blocks;
    0 when it lacks any of them. Raises EbmlError on a malformed file."""
    top = list(_elements(data, 0, len(data)))
    header = next(((s, e) for i, s, e in top if i == EBML), None)
    if header is None or not any(i == DOC_TYPE and data[s:e] == b"webm" for i, s, e in _elements(data, *header)):
        return 0.0
    segment = next(((s, e) for i, s, e in top if i == SEGMENT), None)
    if segment is None:
        return 0.0
    scale, duration, kinds, last_block = 1_000_000, 0.0, set(), -1
    for element, start, end in _elements(data, *segment):
        if element == INFO:
            for child, s, e in _elements(data, start, end):
                if child == TIMECODE_SCALE:
                    scale = _uint(data, s, e)
                elif child == DURATION:
                    duration = struct.unpack(">f" if e - s == 4 else ">d", data[s:e])[0]
        elif element == TRACKS:
            for entry, s, e in _elements(data, start, end):
                if entry == TRACK_ENTRY:
                    kinds |= {_uint(data, cs, ce) for child, cs, ce in _elements(data, s, e) if child == TRACK_TYPE}
        elif element == CLUSTER:
            cluster_time = 0
            for child, s, e in _elements(data, start, end):
                if child == TIMECODE:
                    cluster_time = _uint(data, s, e)
                elif child in (SIMPLE_BLOCK, BLOCK_GROUP):
                    if child == BLOCK_GROUP:
                        s = next((bs for block, bs, _ in _elements(data, s, e) if block == BLOCK), e)
                    _, at = _vint(data, s, keep_marker=False)  # the track number, then a signed 16-bit time
                    if at + 2 <= e:
                        last_block = max(last_block, cluster_time + struct.unpack(">h", data[at:at + 2])[0])
    if AUDIO_TRACK not in kinds or VIDEO_TRACK in kinds or last_block < 0:
        return 0.0
    return (duration or last_block) * scale / 1e9


# --- Durations ------------------------------------------------------------------------------------
def _wav_duration(data: bytes) -> float:
    """The header's length, cut to the samples the file holds (a truncated upload)."""
    info = WAVE(io.BytesIO(data)).info
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        if chunk == b"data":
            held = min(size, len(data) - offset - 8)
            return min(info.length, held * 8 / info.bitrate) if info.bitrate else 0.0
        offset += 8 + size + (size & 1)
    return 0.0


def _mp4_duration(data: bytes) -> float:
    info = MP4(io.BytesIO(data)).info
    # Without a sound track mutagen falls back on the movie's length and names no codec.
    return info.length if info.codec else 0.0


def _ogg_duration(data: bytes) -> float:
    return OGG_AUDIO[_ogg_codec(data)](io.BytesIO(data)).info.length  # type: ignore[index]


def _parsed_by(parser: Callable[[io.BytesIO], mutagen.FileType]) -> Callable[[bytes], float]:
    return lambda data: parser(io.BytesIO(data)).info.length


DURATIONS: dict[str, Callable[[bytes], float]] = {
    "audio/wav": _wav_duration, "audio/ogg": _ogg_duration, "audio/webm": webm_audio_seconds,
    "audio/mp4": _mp4_duration, "audio/aac": _parsed_by(AAC), "audio/mpeg": _parsed_by(MP3),
}


def read_audio(data: bytes) -> tuple[str, int]:
    """(registered content type, duration in ms) of an audio file whose container parses and
    holds an audio stream; `unsupported_media_type` otherwise (a text file that begins with
    "ID3", a video, a header without audio after it)."""
    content_type = audio_type(data)
    try:
        seconds = DURATIONS[content_type](data) if content_type else 0.0
    except (mutagen.MutagenError, EbmlError, ValueError, IndexError, OverflowError, struct.error):
        seconds = 0.0
    if not seconds or seconds <= 0:
        raise unsupported(_("Not an audio file (WebM, Ogg, MP4/M4A, AAC, MP3 or WAV)."))
    return content_type, max(1, round(seconds * 1000))  # type: ignore[return-value]


def file_type(data: bytes) -> str:
    """A best guess for a plain file (served as a download with nosniff, so only a hint)."""
    try:
        guess = puremagic.from_string(data, mime=True)
    except (puremagic.PureError, ValueError):
        guess = ""
    return guess or "application/octet-stream"
