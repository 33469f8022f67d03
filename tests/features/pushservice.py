"""A Web Push service on 127.0.0.1 for the tests, doing what a browser vendor's service and the
browser do with a request: it checks the VAPID JWT (RFC 8292, ES256 over the key in `k`), the
headers of RFC 8030 (TTL, Topic), decrypts the body with the subscription's private key and auth
secret (RFC 8291 aes128gcm, written here from the RFC, independently of the server's library),
and answers the status codes it was told to answer, per subscription (201 once the list is used
up)."""

import base64
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:  # one block is enough for <= 32 bytes
    h = hmac.HMAC(prk, hashes.SHA256())
    h.update(info + b"\x01")
    return h.finalize()[:length]


@dataclass
class Browser:
    """A subscription's keys as a browser holds them."""

    name: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                          serialization.PublicFormat.UncompressedPoint)

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3.4 and RFC 8188: one record."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_public = body[21:21 + id_length]
        ciphertext = body[21 + id_length:]
        assert len(ciphertext) <= record_size
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public)
        shared = self.private_key.exchange(ec.ECDH(), sender)
        ikm = _hkdf_expand(_hkdf_extract(self.auth, shared), b"WebPush: info\x00" + self.public + sender_public, 32)
        prk = _hkdf_extract(salt, ikm)
        key = _hkdf_expand(prk, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf_expand(prk, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(key).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        assert padded.endswith(b"\x02"), "the last record's delimiter"
        return padded[:-1]


@dataclass
class Received:
    subscription: str
    payload: dict[str, Any]
    headers: dict[str, str]
    status: int


def _verify_vapid(header: str, audience: str) -> bytes:
    """The VAPID public key, after checking the JWT it signed."""
    match = re.fullmatch(r"vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)", header)
    assert match, header
    token, key = match.groups()
    signed, signature = token.rsplit(".", 1)
    head, claims = (json.loads(unb64(part)) for part in signed.split("."))
    assert head == {"typ": "JWT", "alg": "ES256"}
    raw = unb64(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    try:
        public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                      signed.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("bad VAPID signature") from None
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith(("mailto:", "https:")), claims
    return unb64(key)


class PushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.script: dict[str, list[int]] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.vapid_keys: set[bytes] = set()
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                service._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def browser(self, name: str, *statuses: int) -> Browser:
        """A new subscription `name`, answering `statuses` in turn, then 201."""
        self.browsers[name] = Browser(name)
        self.script[name] = list(statuses)
        return self.browsers[name]

    def subscription_json(self, name: str) -> dict[str, Any]:
        browser = self.browsers[name]
        return {"endpoint": f"{self.base}/push/{name}", "keys": {"p256dh": b64(browser.public),
                                                                  "auth": b64(browser.auth)}}

    def for_(self, name: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.subscription == name]

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """The first `count` requests, waiting up to `timeout` seconds for them to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)  # polling a real server for a real request, with a deadline
        with self._lock:
            return list(self.received)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        name = request.path.rsplit("/", 1)[-1]
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        try:
            browser = self.browsers[name]
            self.vapid_keys.add(_verify_vapid(request.headers["Authorization"], self.base))
            assert request.headers["Content-Encoding"] == "aes128gcm"
            assert int(request.headers["TTL"]) > 0
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", request.headers["Topic"]), request.headers["Topic"]
            payload = json.loads(browser.decrypt(body))
        except Exception as exc:  # a request a real service would refuse
            with self._lock:
                self.errors.append(f"{name}: {exc!r}")
            request.send_response(400)
            request.end_headers()
            return
        with self._lock:
            status = self.script[name].pop(0) if self.script[name] else 201
            self.received.append(Received(name, payload, dict(request.headers), status))
        request.send_response(status)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
