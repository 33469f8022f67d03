"""Small real files, made in memory: images by Pillow, audio containers by their real headers."""

import io
import struct
import wave

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


def ogg(codec: bytes = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00") -> bytes:
    header = b"OggS\x00\x02" + b"\x00" * 8 + struct.pack("<III", 1, 0, 0) + bytes([1, len(codec)])
    return header + codec


def webm() -> bytes:
    # EBML header: EBMLVersion 1 ... DocType "webm"
    return bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d") + b"\x00" * 32


def m4a() -> bytes:
    return struct.pack(">I", 24) + b"ftypM4A \x00\x00\x02\x00M4A isom" + b"\x00" * 32


def adts(frames: int = 3) -> bytes:
    length = 16
    header = bytes([0xFF, 0xF1, 0x50, 0x80 | (length >> 11), (length >> 3) & 0xFF, ((length & 7) << 5) | 0x1F, 0xFC])
    return (header + b"\x00" * (length - 7)) * frames


def mp3() -> bytes:
    return bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 413


def id3_mp3() -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + mp3()
