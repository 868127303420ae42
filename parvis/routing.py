from django.urls import path

from parvis.chat.consumers import ChatConsumer
from parvis.core.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi(), name="ws_notifications"),
    path("ws/discussion/<int:pk>/", ChatConsumer.as_asgi(), name="ws_chat"),
]
