"""The trash of a space, search (in a space or in all of one's spaces), recent files and
favourites."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import policies
from parvis.core.audit import actor_from
from parvis.core.views.common import page, posted

from .. import actions, search
from ..actions import display_name
from ..forms import RetentionForm, SearchForm
from ..models import Document, Favourite, Folder, Visit
from ..policies import documents_policy, folders_policy, trash_policy
from .common import documents_page, documents_space

RECENT = 30


@login_required
def trash(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    folders = trash_policy.visible_folders(request.user, space).select_related("deleted_by", "parent")
    documents = trash_policy.visible_documents(request.user, space).select_related(
        "deleted_by", "folder", "current"
    )
    items = [("dossier", f, f.parent) for f in folders] + [("fichier", d, d.folder) for d in documents]
    items.sort(key=lambda item: item[1].deleted_at, reverse=True)
    context = {
        "items": [
            {
                "kind": kind,
                "item": item,
                "place": display_name(place) if place else "",
                "can_purge": trash_policy.can(request.user, "purge", item),
            }
            for kind, item, place in items
        ],
        "retention": org.trash_retention_days,
    }
    return documents_page(request, "documents/trash.html", org, space, context)


def _trashed(request: HttpRequest, space, kind: str, pk: int, action: str):  # type: ignore[no-untyped-def]
    model = {"dossier": Folder, "fichier": Document}.get(kind)
    if model is None:
        raise Http404
    item = model.objects.filter(space=space, pk=pk, deleted_at__isnull=False, trash_root=True).first()
    if item is None or not trash_policy.can(request.user, "view", item):
        raise Http404
    if not trash_policy.can(request.user, action, item):
        raise PermissionDenied
    return item


@login_required
@require_POST
def trash_restore(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = _trashed(request, space, kind, pk, "restore")
    place = actions.restore(actor_from(request), item)
    item.refresh_from_db()
    messages.success(
        request,
        _("“%(name)s” is back in “%(folder)s”.") % {"name": item.name, "folder": display_name(place)},
    )
    return redirect("documents:trash", org.slug, space.slug)


@login_required
@require_POST
def trash_purge(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = _trashed(request, space, kind, pk, "purge")
    name = item.name
    actions.purge(actor_from(request), item)
    messages.success(request, _("“%(name)s” has been deleted for good.") % {"name": name})
    return redirect("documents:trash", org.slug, space.slug)


@login_required
def space_search(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    scope = documents_policy.visible(request.user).filter(space=space)
    hits = search.search(request.user, query, scope) if query else []
    context = {"form": form, "query": query, "hits": hits}
    return documents_page(request, "documents/search.html", org, space, context)


@login_required
def org_search(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Search in every space of the organisation the person may read."""
    org = policies.get_organisation(request.user, org_slug)
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    scope = _personal_scope(request, org)
    hits = search.search(request.user, query, scope) if query else []
    return page(
        request, "documents/org_search.html", {"form": form, "query": query, "hits": hits}, organisation=org
    )


def _personal_scope(request: HttpRequest, org):  # type: ignore[no-untyped-def]
    """Her documents in the organisation; those of spaces that require a second factor only
    when her session has one."""
    scope = documents_policy.visible(request.user).filter(space__organisation=org)
    if not request.user.is_verified():  # type: ignore[union-attr]
        scope = scope.exclude(space__require_2fa=True)
    return scope


@login_required
def recent(request: HttpRequest, org_slug: str) -> HttpResponse:
    """ "Mes fichiers récents": what she opened, uploaded or changed lately."""
    org = policies.get_organisation(request.user, org_slug)
    visible = _personal_scope(request, org)
    visits = (
        Visit.objects.filter(user=request.user, document__in=visible)
        .select_related("document__space", "document__folder", "document__current")
        .order_by("-at")[:RECENT]
    )
    return page(request, "documents/recent.html", {"visits": visits}, organisation=org)


@login_required
def favourites(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    documents = (
        _personal_scope(request, org)
        .filter(pk__in=Favourite.objects.filter(user=request.user).values("document_id"))
        .select_related("space", "folder", "current")
    )
    folders = folders_policy.visible(request.user).filter(
        space__organisation=org, pk__in=Favourite.objects.filter(user=request.user).values("folder_id")
    )
    if not request.user.is_verified():  # type: ignore[union-attr]
        folders = folders.exclude(space__require_2fa=True)
    context = {
        "documents": documents.order_by("name"),
        "folders": folders.select_related("space").order_by("name"),
    }
    return page(request, "documents/favourites.html", context, organisation=org)


@login_required
def admin(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organisation administrator's page: storage used against the quota, per space, and
    how long the trash keeps what is deleted."""
    org = policies.get_organisation(request.user, org_slug, "administer")
    form = RetentionForm(posted(request), initial={"days": org.trash_retention_days})
    if request.method == "POST" and form.is_valid():
        actions.set_trash_retention(actor_from(request), org, form.cleaned_data["days"])
        messages.success(request, _("The trash retention has been saved."))
        return redirect("documents:admin", org.slug)
    used = actions.usage(org)
    context = {
        "form": form,
        "section": "documents",
        "used": used,
        "quota": org.storage_quota_bytes,
        "percent": min(100, round(100 * used / org.storage_quota_bytes)) if org.storage_quota_bytes else 100,
        "by_space": actions.usage_by_space(org),
    }
    status = 400 if request.method == "POST" else 200
    return page(request, "documents/admin.html", context, status=status, organisation=org)
