"""Session bookkeeping on Django's sign-in and sign-out signals, and forgetting the rights a
request remembered when what they depend on changes."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from parvis.core import events
from parvis.core.models import Group, Organisation, OrgMembership, User, UserSession, public_session_id
from parvis.core.policies import forget


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


def forget_rights_on_change_of(*models: type) -> None:
    """Any save or delete of these models makes the request read rights again."""
    for model in models:
        post_save.connect(forget, sender=model, dispatch_uid=f"policy-memo-save-{model._meta.label}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"policy-memo-delete-{model._meta.label}")


forget_rights_on_change_of(User, Organisation, OrgMembership, Group)
m2m_changed.connect(forget, sender=Group.members.through, dispatch_uid="policy-memo-group-members")
