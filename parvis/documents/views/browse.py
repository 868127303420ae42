"""Folders: browse, create, rename, move, copy, delete, rights, "Qui a accès ?", subscribe,
favourites, and a folder as a ZIP."""

import asyncio
import zipfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core.audit import actor_from
from parvis.core.models import Group, OrgMembership, User
from parvis.core.views.common import posted, refuse
from parvis.spaces.models import Space, Visibility

from .. import actions
from ..access import who_has_access
from ..actions import DocumentError, display_name
from ..forms import NameForm, RightsForm, TargetForm
from ..models import Document, Favourite, Folder, Subscription, Version
from ..policies import (
    MANAGE,
    child_level,
    documents_policy,
    folder_level,
    folders_policy,
    group_ids,
    writes,
)
from ..storage import CHUNK, blob_store
from .common import (
    breadcrumbs,
    content_disposition,
    document_or_404,
    documents_page,
    documents_space,
    folder_or_404,
    not_understood,
    switch,
)

KINDS = {"dossier": Folder, "fichier": Document}
FILES_PER_PAGE = 200  # a folder of 10,000 files stays a light page


def folder_context(request: HttpRequest, space: Space, folder: Folder) -> dict[str, Any]:
    user = request.user
    level = folder_level(user, folder)
    groups = group_ids(user)
    children = (
        folders_policy.visible(user).filter(parent=folder).prefetch_related("accesses").order_by("name")
    )
    docs = (
        documents_policy.visible(user)
        .filter(folder=folder)
        .select_related("current", "locked_by")
        .order_by("name")
    )
    page = Paginator(docs, FILES_PER_PAGE).get_page(request.GET.get("page"))
    favourite_docs = set(
        Favourite.objects.filter(user=user, document__in=[d.pk for d in page]).values_list(
            "document_id", flat=True
        )
    )
    return {
        "folder": folder,
        "folder_title": display_name(folder),
        "crumbs": breadcrumbs(folder),
        "level": level,
        "can_write": writes(level) and not space.is_archived,
        "can_manage": level == MANAGE,
        "subfolders": [(child, child_level(level, child, user, groups)) for child in children],
        "documents": [(doc, doc.pk in favourite_docs) for doc in page],
        "page": page,
        "subscribed": Subscription.objects.filter(user=user, folder=folder).exists(),
        "favourite": Favourite.objects.filter(user=user, folder=folder).exists(),
        "name_form": NameForm(),
        "max_file_bytes": settings.PARVIS_MAX_FILE_BYTES,
        "downloads_blocked": space.block_downloads,
    }


@login_required
def home(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    root = actions.root_folder(space)
    return documents_page(request, "documents/folder.html", org, space, folder_context(request, space, root))


@login_required
def folder_view(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk)
    return documents_page(
        request, "documents/folder.html", org, space, folder_context(request, space, folder)
    )


@login_required
@require_POST
def folder_new(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    parent = folder_or_404(request, space, pk, "change")
    form = NameForm(request.POST)
    if form.is_valid():
        try:
            folder = actions.create_folder(actor_from(request), parent, form.cleaned_data["name"])
        except DocumentError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("The folder “%(name)s” has been created.") % {"name": folder.name})
            return redirect(actions.folder_url(folder))
    context = folder_context(request, space, parent) | {"name_form": form, "new_folder_open": True}
    return documents_page(request, "documents/folder.html", org, space, context, status=400)


# --- Any item: rename, move, copy, delete, favourite --------------------------------------------


def item_or_404(request: HttpRequest, space: Space, kind: str, pk: int, action: str) -> Folder | Document:
    if kind == "dossier":
        return folder_or_404(request, space, pk, action)
    if kind == "fichier":
        return document_or_404(request, space, pk, action)
    raise Http404


def item_url(item: Folder | Document) -> str:
    return actions.folder_url(item) if isinstance(item, Folder) else actions.document_url(item)


def parent_url(item: Folder | Document) -> str:
    parent = item.parent if isinstance(item, Folder) else item.folder
    return actions.folder_url(parent) if parent else item_url(item)


@login_required
def item_rename(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = item_or_404(request, space, kind, pk, "change")
    if isinstance(item, Folder) and item.is_root:
        raise PermissionDenied
    form = NameForm(posted(request), initial={"name": item.name})
    if request.method == "POST" and form.is_valid():
        try:
            actions.rename(actor_from(request), item, form.cleaned_data["name"])
        except DocumentError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("Renamed to “%(name)s”.") % {"name": item.name})
            return redirect(item_url(item))
    context = {"item": item, "kind": kind, "form": form, "back": item_url(item)}
    status = 400 if request.method == "POST" else 200
    return documents_page(request, "documents/rename.html", org, space, context, status=status)


def _targets(request: HttpRequest, space: Space, item: Folder | Document) -> Any:
    targets = folders_policy.writable(request.user).filter(space=space).order_by("path")
    if isinstance(item, Folder):
        targets = targets.exclude(path__startswith=item.path)
    return targets


def _target_choices(targets: Any) -> list[tuple[Folder, int]]:
    """Folders with their depth, for an indented list."""
    return [(f, len(f.ancestor_ids()) - 1) for f in targets]


def _transfer(
    request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int, copy: bool
) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = item_or_404(request, space, kind, pk, "view" if copy else "change")
    if isinstance(item, Folder) and item.is_root:
        raise PermissionDenied
    if copy and isinstance(item, Document) and not documents_policy.can(request.user, "download", item):
        raise PermissionDenied  # a copy would be a way out of blocked downloads
    targets = _targets(request, space, item)
    form = TargetForm(targets, posted(request))
    if request.method == "POST" and form.is_valid():
        target, name = form.cleaned_data["target"], form.cleaned_data["name"] or None
        try:
            if copy:
                made = actions.copy(actor_from(request), item, target, name)
                messages.success(request, _("Copied to “%(folder)s”.") % {"folder": display_name(target)})
                return redirect(item_url(made))
            actions.move(actor_from(request), item, target, name)
        except DocumentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Moved to “%(folder)s”.") % {"folder": display_name(target)})
            return redirect(item_url(item))
    context = {
        "item": item,
        "kind": kind,
        "form": form,
        "copy": copy,
        "choices": _target_choices(targets),
        "back": item_url(item),
    }
    status = 400 if request.method == "POST" else 200
    return documents_page(request, "documents/transfer.html", org, space, context, status=status)


@login_required
def item_move(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    return _transfer(request, org_slug, space_slug, kind, pk, copy=False)


@login_required
def item_copy(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    return _transfer(request, org_slug, space_slug, kind, pk, copy=True)


@login_required
@require_POST
def item_delete(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = item_or_404(request, space, kind, pk, "change")
    back = parent_url(item)
    try:
        actions.trash(actor_from(request), item)
    except DocumentError as error:
        return refuse(request, org, error.message, item_url(item), item.name)
    messages.success(request, _("“%(name)s” is in the trash.") % {"name": item.name})
    return redirect(back)


@login_required
@require_POST
def item_favourite(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = item_or_404(request, space, kind, pk, "view")
    on = switch(request)
    if on is None:
        return not_understood(request, org, item_url(item), item.name)
    actions.set_favourite(actor_from(request), item, on)
    messages.success(request, _("Added to your favourites.") if on else _("Removed from your favourites."))
    return redirect(request.POST.get("back") if _safe_back(request) else item_url(item))


def _safe_back(request: HttpRequest) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    back = request.POST.get("back", "")
    return bool(back) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})


# --- Folder only ---------------------------------------------------------------------------------


@login_required
@require_POST
def folder_subscribe(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk)
    on = switch(request)
    if on is None:
        return not_understood(request, org, actions.folder_url(folder), display_name(folder))
    actions.set_subscription(actor_from(request), folder, on)
    messages.success(
        request,
        _("You will be told when something arrives in this folder.")
        if on
        else _("You will no longer be told of this folder."),
    )
    return redirect(actions.folder_url(folder))


@login_required
def folder_access(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    """“Qui a accès ?”: open to whoever sees the folder (it is the space's member list, read
    through the folder's rules)."""
    org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk)
    rows = who_has_access(folder)
    context = {
        "folder": folder,
        "folder_title": display_name(folder),
        "crumbs": breadcrumbs(folder),
        "with_access": [r for r in rows if r.level is not None],
        "without_access": [r for r in rows if r.level is None],
        "can_manage": folders_policy.can(request.user, "manage", folder),
    }
    return documents_page(request, "documents/access.html", org, space, context)


def _candidates(space: Space) -> tuple[list[User], list[Group]]:
    """Who a restricted folder's list can name: the space's people (and, in a space open to
    the organisation, its members), and the organisation's groups."""
    org = space.organisation
    people = User.objects.filter(
        is_active=True, org_memberships__organisation=org, org_memberships__is_active=True
    )
    if space.visibility == Visibility.ORGANISATION:
        people = people.filter(~_guest_of(org) | _in_space(space))
    else:
        people = people.filter(_in_space(space))
    return list(people.distinct().order_by("full_name", "email")), list(
        Group.objects.filter(organisation=org).order_by("name")
    )


def _guest_of(org: Any) -> Any:
    from django.db.models import Q

    return Q(org_memberships__organisation=org, org_memberships__role=OrgMembership.Role.GUEST)


def _in_space(space: Space) -> Any:
    from django.db.models import Q

    return Q(space_memberships__space=space) | Q(parvis_groups__space_grants__space=space)


@login_required
def folder_rights(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk, "manage")
    if folder.is_root:
        raise PermissionDenied
    people, groups = _candidates(space)
    levels = {f"user_{a.user_id}": a.level for a in folder.accesses.all() if a.user_id}
    levels |= {f"group_{a.group_id}": a.level for a in folder.accesses.all() if a.group_id}
    form = RightsForm(
        people, groups, posted(request), initial={"restricted": folder.restricted}, levels=levels
    )
    if request.method == "POST" and form.is_valid():
        grants = [actions.Grant(user, group, level) for user, group, level in form.grants()]
        try:
            actions.set_restriction(actor_from(request), folder, form.cleaned_data["restricted"], grants)
        except DocumentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The rights of “%(name)s” have been saved.") % {"name": folder.name})
            return redirect("documents:folder_access", org.slug, space.slug, folder.pk)
    context = {
        "folder": folder,
        "folder_title": display_name(folder),
        "crumbs": breadcrumbs(folder),
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return documents_page(request, "documents/rights.html", org, space, context, status=status)


# --- A folder as a ZIP ---------------------------------------------------------------------------


class _Sink:
    """Where zipfile writes: collects bytes until the stream takes them (no seek: zipfile
    then writes data descriptors, so nothing is ever held whole)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_entries(user: Any, folder: Folder) -> list[tuple[str, Version]]:
    """(path inside the archive, version) of every file the person may download below
    `folder`, clean versions only."""
    folders = folders_policy.visible(user).filter(path__startswith=folder.path)
    names = {f.pk: f for f in folders}
    entries = []
    docs = (
        documents_policy.visible(user)
        .filter(folder__in=folders)
        .select_related("current", "folder")
        .order_by("folder__path", "name")
    )
    for doc in docs:
        if doc.current is None or not doc.current.is_clean:
            continue
        below = doc.folder.ancestor_ids()[len(folder.ancestor_ids()) :]
        parts = [names[i].name for i in below if i in names]
        entries.append(("/".join([*parts, doc.name]), doc.current))
    return entries


def zip_stream(entries: list[tuple[str, Version]]) -> Iterator[bytes]:
    sink = _Sink()
    store = blob_store()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:  # type: ignore[arg-type]
        for arcname, version in entries:
            stamp = version.file_modified_at.timetuple()[:6]
            info = zipfile.ZipInfo(arcname, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))  # type: ignore[arg-type]
            info.file_size = version.size
            with (
                archive.open(info, "w", force_zip64=version.size > 2**31) as out,
                store.open(version.sha256) as src,
            ):
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    if sink.position and len(sink.parts) > 4:
                        yield sink.take()
            yield sink.take()
    yield sink.take()


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        if chunk:
            yield chunk


@login_required
def folder_zip(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk)
    if space.block_downloads:
        raise PermissionDenied
    chunks = zip_stream(zip_entries(request.user, folder))
    body = _in_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = content_disposition(f"{display_name(folder)}.zip", inline=False)
    return response
