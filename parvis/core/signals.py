"""Session bookkeeping on Django's sign-in and sign-out signals."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from parvis.core import events
from parvis.core.models import User, UserSession, public_session_id


@receiver(user_logged_in)
def on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    from parvis.core.sessions import record_login

    if hasattr(request, "session"):
        record_login(request, user)


@receiver(user_logged_out)
def on_logout(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()
        # Signing out (or a session timing out) closes that session's open websockets too.
        events.sessions_ended([public_session_id(key)])
