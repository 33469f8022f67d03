"""A WebSocket and REST client for end-to-end tests, over real sockets (websockets, requests)."""

import asyncio
from typing import Any

import orjson
import requests
from websockets.asyncio.client import ClientConnection, connect


class Client:
    """One device: frames in and out as dicts; `initial` holds what came between hello and synced."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.hello: dict[str, Any] = {}
        self.initial: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, ws_url: str, token: str) -> "Client":
        client = cls(await connect(f"{ws_url}?access_token={token}", max_size=2**20))
        client.hello = await client.recv(10)
        assert client.hello["type"] == "hello", client.hello
        while (frame := await client.recv(30))["type"] != "synced":
            client.initial.append(frame)
        return client

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def send_raw(self, text: str) -> None:
        await self.ws.send(text)

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        return orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def recv_type(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        """The next frame of this type; frames of other types before it are dropped."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind:
                return frame

    async def frames_for(self, seconds: float) -> list[dict[str, Any]]:
        """Every frame that arrives within `seconds` (to show that something does not come)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        frames = []
        while (left := deadline - loop.time()) > 0:
            try:
                frames.append(await self.recv(left))
            except TimeoutError:
                break
        return frames

    async def reserve(self, count: int) -> list[str]:
        await self.send({"type": "msg_ids", "count": count})
        return (await self.recv_type("msg_ids"))["ids"]

    async def close(self) -> None:
        await self.ws.close()


def send_frame(msg_id: str, conversation_id: str, text: str) -> dict[str, Any]:
    return {"type": "send", "msg_id": msg_id, "conversation_id": conversation_id, "msg_type": "text",
            "content": {"text": text}}


def rest(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    response = requests.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code, (response.json() if response.content else None)


async def arest(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    return await asyncio.to_thread(rest, method, url, token, body)


async def pull_all(base_url: str, token: str, conversation_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    """Every message after `after_seq`, following `next` (the offline pull)."""
    results: list[dict[str, Any]] = []
    query = f"after_seq={after_seq}&limit=200"
    while True:
        status, body = await arest("GET", f"{base_url}/api/v1/conversations/{conversation_id}/messages?{query}", token)
        assert status == 200, body
        results.extend(body["results"])
        if not body["next"]:
            return results
        query = f"after_seq={after_seq}&limit=200&cursor={body['next']}"
