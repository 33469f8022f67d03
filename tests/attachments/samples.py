"""Small real files, made in memory: images by Pillow, WAV by the standard library, Ogg pages by
mutagen, the other audio containers from their specifications (real headers, real frames)."""

import io
import struct
import wave

from mutagen.ogg import OggPage
from PIL import Image


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else None).save(out, fmt, **save)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (50, 40), color).convert("P") for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def rotated_jpeg() -> bytes:
    """A 40x20 JPEG whose EXIF says "rotate 90°": shown upright it is 20x40."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return image_bytes("JPEG", (40, 20), exif=exif.tobytes())


def wav(milliseconds: int = 1500, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * (rate * milliseconds // 1000))
    return out.getvalue()


def ogg(milliseconds: int = 1500, codec: bytes = b"OpusHead") -> bytes:
    """An Ogg Opus stream (or, with another first packet, a stream of that codec): the headers
    and one page of packets whose granule position makes the duration (48 kHz, 312 pre-skip)."""
    head = codec + (bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0) if codec == b"OpusHead" else b"\x00" * 22)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    pages = []
    for sequence, (packets, position) in enumerate(((([head]), 0), ([tags], 0),
                                                    ([b"\xfc\xff\xfe"] * 5, 312 + 48 * milliseconds))):
        page = OggPage()
        page.packets, page.serial, page.sequence, page.position = packets, 1, sequence, position
        page.first, page.last = sequence == 0, sequence == 2
        pages.append(page.write())
    return b"".join(pages)


def _ebml(element: int, body: bytes, unknown_size: bool = False) -> bytes:
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + len(body).to_bytes(7, "big")
    return element.to_bytes((element.bit_length() + 7) // 8, "big") + size + body


def webm(block_times: tuple[int, ...] = (0, 20, 1480), *, duration_ms: float | None = None,
         tracks: tuple[int, ...] = (2,), recording: bool = False) -> bytes:
    """A WebM file: tracks of these types (2 audio, 1 video), one cluster with a block at each
    time (ms). `recording` writes it as MediaRecorder does: segment and cluster of unknown size,
    no Duration."""
    header = _ebml(0x1A45DFA3, _ebml(0x4286, b"\x01") + _ebml(0x4282, b"webm"))
    info = _ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
    if duration_ms is not None and not recording:
        info += _ebml(0x4489, struct.pack(">d", duration_ms))
    entries = b"".join(_ebml(0xAE, _ebml(0xD7, bytes([n + 1])) + _ebml(0x83, bytes([kind])))
                       for n, kind in enumerate(tracks))
    blocks = b"".join(_ebml(0xA3, b"\x81" + struct.pack(">h", at) + b"\x80" + b"\x00" * 8) for at in block_times)
    cluster = _ebml(0x1F43B675, _ebml(0xE7, b"\x00") + blocks, unknown_size=recording)
    segment = _ebml(0x18538067, _ebml(0x1549A966, info) + _ebml(0x1654AE6B, entries) + cluster, unknown_size=recording)
    return header + segment


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def m4a(milliseconds: int = 1500, handler: bytes = b"soun") -> bytes:
    """An MP4 audio file: one track with this handler (b"soun" audio, b"vide" video), its length in
    the media header (timescale 1000)."""
    mdhd = _box(b"mdhd", b"\x00" * 4, struct.pack(">IIII", 0, 0, 1000, milliseconds), b"\x55\xc4\x00\x00")
    hdlr = _box(b"hdlr", b"\x00" * 8, handler, b"\x00" * 12, b"track\x00")
    entry = _box(b"mp4a", b"\x00" * 6, struct.pack(">H", 1), b"\x00" * 8, struct.pack(">HHHH", 1, 16, 0, 0),
                 struct.pack(">I", 44100 << 16), _box(b"btrt", b"\x00" * 12))
    stbl = _box(b"stbl", _box(b"stsd", b"\x00" * 4, struct.pack(">I", 1), entry))
    trak = _box(b"trak", _box(b"mdia", mdhd, hdlr, _box(b"minf", stbl)))
    mvhd = _box(b"mvhd", b"\x00" * 4, struct.pack(">IIII", 0, 0, 1000, milliseconds), b"\x00" * 80)
    return _box(b"ftyp", b"M4A \x00\x00\x02\x00M4A isom") + _box(b"moov", mvhd, trak) + _box(b"mdat", b"\x00" * 64)


def adts(frames: int = 50) -> bytes:
    """AAC frames of 1024 samples at 44.1 kHz: frames * 23.2 ms."""
    length = 16
    header = bytes([0xFF, 0xF1, 0x50, 0x80 | (length >> 11), (length >> 3) & 0xFF, ((length & 7) << 5) | 0x1F, 0xFC])
    return (header + b"\x00" * (length - 7)) * frames


def mp3(frames: int = 50) -> bytes:
    """MPEG-1 layer III frames, 128 kbit/s at 44.1 kHz: frames * 26.1 ms."""
    return (bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 413) * frames


def id3_mp3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + mp3()
