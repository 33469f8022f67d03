"""Bare relay baselines: no storage, no ACK chain.

  python bench/baselines.py plain --port 18101
      a plain `websockets` relay: clients connect with ?user=N; a frame {"to": M, ...} is
      forwarded unchanged to user M's socket.
  python bench/baselines.py channels --port 18102 [--layer memory|pubsub|core]
      the same relay as a minimal Channels app (bench/channels_relay/) served by daphne.

Both listen on 127.0.0.1 only. bench/loadclient.py drives them in `relay` mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

BENCH_DIR = Path(__file__).resolve().parent
HOST = "127.0.0.1"
LAYERS = ("memory", "pubsub", "core")


async def plain_relay(port: int) -> None:
    sockets: dict[int, ServerConnection] = {}

    async def handle(ws: ServerConnection) -> None:
        user = int(parse_qs(urlsplit(ws.request.path).query)["user"][0])
        sockets[user] = ws
        try:
            async for raw in ws:
                peer = sockets.get(orjson.loads(raw)["to"])
                if peer is not None:
                    await peer.send(raw)
        except ConnectionClosed:
            pass
        finally:
            if sockets.get(user) is ws:
                del sockets[user]

    async with serve(handle, HOST, port, compression=None, max_size=2**20, ping_interval=None):
        await asyncio.Future()


def channels_command(port: int, layer: str, redis_url: str) -> tuple[list[str], dict[str, str]]:
    """The daphne command line and environment that serve the Channels relay."""
    daphne = shutil.which("daphne", path=str(Path(sys.executable).parent)) or shutil.which("daphne")
    argv = [daphne] if daphne else [sys.executable, "-m", "daphne"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "channels_relay.settings",
        "BENCH_RELAY_LAYER": layer,
        "BENCH_RELAY_REDIS": redis_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])),
    }
    return [*argv, "-b", HOST, "-p", str(port), "channels_relay.asgi:application"], env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("server", choices=("plain", "channels"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--layer", choices=LAYERS, default="memory", help="channels: channel layer")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6", help="channels: Redis for the layer")
    args = parser.parse_args(argv)
    if args.server == "plain":
        asyncio.run(plain_relay(args.port))
    else:
        command, env = channels_command(args.port, args.layer, args.redis)
        os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
