"""Signed-in sessions: recorded at sign-in, listed by their owner, ended at once.

Ending a session deletes it server-side (the cookie becomes worthless) and tells every open
websocket of that session to close.
"""

from django.contrib.auth import update_session_auth_hash
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from parvis.core import events
from parvis.core.audit import client_ip
from parvis.core.models import User, UserSession


def record_login(request: HttpRequest, user: User) -> UserSession:
    request.session["auth_at"] = timezone.now().timestamp()
    request.session["seen_at"] = request.session["auth_at"]
    request.session.save()
    session, _ = UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
            "last_seen_at": timezone.now(),
        },
    )
    return session


@transaction.atomic
def end_sessions(user: User, *, keep: str | None = None) -> int:
    """End every session of `user` except the one whose key is `keep`; returns how many."""
    ended = UserSession.objects.filter(user=user).exclude(session_key=keep or "")
    public_ids = [s.public_id for s in ended]
    keys = [s.session_key for s in ended]
    Session.objects.filter(session_key__in=keys).delete()
    ended.delete()
    events.sessions_ended(public_ids)
    return len(keys)


@transaction.atomic
def end_session(session: UserSession) -> None:
    Session.objects.filter(session_key=session.session_key).delete()
    events.sessions_ended([session.public_id])
    session.delete()


def renew_session_key(request: HttpRequest, user: User) -> None:
    """Give this browser a new session id (after a password change, ASVS 7.2.4) and move its
    record to the new id: otherwise it would vanish from her list, and no "end my sessions" or
    deactivation could reach it any more."""
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
