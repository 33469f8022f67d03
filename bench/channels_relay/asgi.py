"""ASGI entry point of the Channels relay: `?user=N` joins group `u.N`; a frame {"to": M, ...}
is sent unchanged to group `u.M` through the channel layer."""

import os
from typing import Any
from urllib.parse import parse_qs

import django
import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels_relay.settings")
django.setup()


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = parse_qs(self.scope["query_string"].decode())["user"][0]
        self.group = f"u.{user}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        to = orjson.loads(text_data or bytes_data or b"{}")["to"]
        await self.channel_layer.group_send(f"u.{to}", {"type": "relay", "text": text_data})

    async def relay(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({"websocket": RelayConsumer.as_asgi()})
