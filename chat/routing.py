"""The WebSocket side of the ASGI application (settings.WEBSOCKET_APPLICATION, mounted by
imsite/asgi.py): the chat consumer at /ws, behind accounts' socket authentication."""

from channels.routing import URLRouter
from django.urls import path

from accounts.socket_auth import SocketAuthMiddleware
from chat.consumers import ChatConsumer

application = SocketAuthMiddleware(URLRouter([path("ws", ChatConsumer.as_asgi())]))
