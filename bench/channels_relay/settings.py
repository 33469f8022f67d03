"""Settings of the Channels relay baseline: nothing but a channel layer.

BENCH_RELAY_LAYER picks the layer: `memory` (default), `pubsub` (channels_redis pub/sub) or
`core` (channels_redis default); BENCH_RELAY_REDIS is the Redis URL for the last two.
"""

import os

SECRET_KEY = "bench-relay-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

_LAYER = os.environ.get("BENCH_RELAY_LAYER", "memory")
_REDIS = os.environ.get("BENCH_RELAY_REDIS", "redis://127.0.0.1:6379/6")
_BACKENDS = {
    "memory": ("channels.layers.InMemoryChannelLayer", {"capacity": 1000}),
    "pubsub": (
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        {"hosts": [_REDIS], "prefix": "benchrelay", "capacity": 1000},
    ),
    "core": ("channels_redis.core.RedisChannelLayer", {"hosts": [_REDIS], "prefix": "benchrelay", "capacity": 1000}),
}
_BACKEND, _CONFIG = _BACKENDS[_LAYER]
CHANNEL_LAYERS = {"default": {"BACKEND": _BACKEND, "CONFIG": _CONFIG}}
