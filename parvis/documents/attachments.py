"""What the documents tool offers other tools through the registry, without being imported by
them: storing a file in a space's documents (the discussion's attachments), and previews of
links to folders and documents.

Files go into one folder per space, "Pièces jointes de la discussion" under the top folder,
with the same rights as anything else there: the sender must be able to write in it, and
whoever opens the link goes through the documents' own pages and policies.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from parvis.core import registry
from parvis.core.audit import Actor
from parvis.core.policies import AnyUser
from parvis.spaces.models import Space

from .actions import DocumentError, document_url, ensure_path, free_name, human_size, root_folder, store_spool
from .models import Document, Folder
from .policies import documents_policy, folders_policy, tool_on
from .storage import blob_store


def _folders(space: Space) -> tuple[Folder | None, Folder | None]:
    """The space's top folder and the attachments' folder under it (None where there is none
    yet), in one query."""
    found = Folder.objects.filter(
        Q(parent__isnull=True)
        | Q(parent__parent__isnull=True, name=_("Discussion attachments"), deleted_at__isnull=True),
        space=space,
    ).order_by("pk")
    root = attachments = None
    for folder in found:
        if folder.parent_id is None:
            root = root or folder
        else:
            attachments = attachments or folder
    return root, attachments


class Attachments:
    """The service "documents.attachments"."""

    def available(self, space: Space) -> bool:
        return tool_on(space)

    def can_attach(self, user: AnyUser, space: Space) -> bool:
        if not tool_on(space):
            return False
        root, attachments = _folders(space)
        target = attachments or root or root_folder(space)
        target.space = space  # the one the page has: its rights are not read again
        return folders_policy.can(user, "change", target)

    def store(self, actor: Actor, space: Space, name: str, chunks: Iterable[bytes]) -> dict[str, Any]:
        """Store one file; returns what the message keeps of it (id, name, size, address).
        PermissionError if she may not write there; ValueError (French) for a refused file."""
        if not self.can_attach(actor.user, space):  # type: ignore[arg-type]
            raise PermissionError
        folder = _folders(space)[1] or ensure_path(actor, root_folder(space), [_("Discussion attachments")])
        spool = blob_store().spool()
        try:
            for chunk in chunks:
                spool.write(chunk)
            stored = store_spool(actor, folder, free_name(folder, name or "fichier"), spool)
        except DocumentError as refusal:
            spool.discard()
            raise ValueError(refusal.message) from None
        doc = stored.document
        return {"id": doc.pk, "name": doc.name, "size": stored.version.size, "url": document_url(doc)}


def _document_preview(user: AnyUser, kwargs: dict[str, Any]) -> dict[str, str] | None:
    doc = (
        documents_policy.visible(user)
        .select_related("current", "space")
        .filter(
            pk=kwargs.get("pk"),
            space__slug=kwargs.get("space_slug"),
            space__organisation__slug=kwargs.get("org_slug"),
        )
        .first()
    )
    if not isinstance(doc, Document):
        return None
    size = human_size(doc.current.size) if doc.current else ""
    return {"kind": _("Document"), "title": doc.name, "detail": f"{doc.space.name} · {size}"}


def _folder_preview(user: AnyUser, kwargs: dict[str, Any]) -> dict[str, str] | None:
    folder = (
        folders_policy.visible(user)
        .select_related("space")
        .filter(
            pk=kwargs.get("pk"),
            space__slug=kwargs.get("space_slug"),
            space__organisation__slug=kwargs.get("org_slug"),
        )
        .first()
    )
    if folder is None:
        return None
    return {"kind": _("Folder"), "title": folder.name, "detail": folder.space.name}


def register() -> None:
    registry.provide("documents.attachments", Attachments())
    registry.provide("preview:documents:document", _document_preview)
    registry.provide("preview:documents:folder", _folder_preview)
