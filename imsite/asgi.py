"""ASGI entry point: HTTP (Django; static files through WhiteNoise, URLs from ROOT_URLCONF) and
the WebSocket (settings.WEBSOCKET_APPLICATION: /ws, chat/routing.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imsite.settings")
django_asgi = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up first)
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from imsite import events, gc_policy, stack_patches  # noqa: E402
from imsite.realtime import node  # noqa: E402
from imsite.tracing import setup_tracing  # noqa: E402

setup_tracing("im-daphne")


class BindEventLoop:
    """Publishes this process's real-time events from the server's loop (imsite/events.py)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        events.bind_loop()
        return await self.app(scope, receive, send)


application = BindEventLoop(ProtocolTypeRouter({
    "http": django_asgi,  # static files: WhiteNoise middleware (settings)
    "websocket": import_string(settings.WEBSOCKET_APPLICATION),
}))
stack_patches.apply()
node.start_heartbeat()
gc_policy.apply()
