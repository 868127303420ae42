"""One document: its page (preview, versions, actions), download, previews, version restore,
lock."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core.audit import actor_from
from parvis.core.views.common import refuse

from .. import actions, previews
from ..actions import DocumentError
from ..models import Favourite, Version
from ..policies import documents_policy
from .common import (
    breadcrumbs,
    document_or_404,
    documents_page,
    documents_space,
    not_understood,
    serve,
    switch,
)

MAX_PAGES_SHOWN = 200


@login_required
def document_view(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk)
    actions.record_visit(request.user, document)  # type: ignore[arg-type]
    current = document.current
    kind = previews.kind(current) if current and current.is_clean else None
    pages = 0
    text = ""
    if kind == "pdf" and current is not None:
        pages = min(previews.page_count(current), MAX_PAGES_SHOWN)
    elif kind == "text" and current is not None:
        text = previews.text_start(current)
    abilities = documents_policy.abilities(request.user, document)
    context = {
        "document": document,
        "current": current,
        "crumbs": breadcrumbs(document.folder),
        "versions": Version.objects.filter(document=document)
        .select_related("uploaded_by")
        .order_by("-number"),
        "preview_kind": kind,
        "pages": range(1, pages + 1),
        "text_preview": text,
        "doc_abilities": abilities,
        "favourite": Favourite.objects.filter(user=request.user, document=document).exists(),
        "locked_by_other": document.locked_by_id is not None and document.locked_by_id != request.user.pk,
    }
    return documents_page(request, "documents/document.html", org, space, context)


def _version(document, number: str | None) -> Version:  # type: ignore[no-untyped-def]
    if number is None or number == "":
        if document.current is None:
            raise Http404
        return document.current
    if not number.isdigit():
        raise Http404
    version = Version.objects.filter(document=document, number=int(number)).first()
    if version is None:
        raise Http404
    return version


@login_required
def download(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk, "download")
    version = _version(document, request.GET.get("version"))
    if not version.is_clean:
        raise PermissionDenied
    actions.record_visit(request.user, document)  # type: ignore[arg-type]
    return serve(request, version, document.name)


@login_required
def preview(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    """The file shown inside the page: an image, or a PDF page rendered as a picture. Allowed
    where downloads are blocked: reading in the page is what such a space permits."""
    _org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk)
    version = document.current
    if version is None or not version.is_clean:
        raise Http404
    kind = previews.kind(version)
    page = request.GET.get("page", "")
    if kind == "image" and not page:
        return serve(request, version, document.name, inline=True, content_type=version.mime_type)
    if kind == "pdf" and page.isdigit() and 1 <= int(page) <= MAX_PAGES_SHOWN:
        data = previews.pdf_page(version, int(page))
        if data is None:
            raise Http404
        return HttpResponse(
            data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
        )
    raise Http404


@login_required
def thumbnail(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk)
    if document.current is None:
        raise Http404
    data = previews.thumbnail(document.current)
    if data is None:
        raise Http404
    return HttpResponse(data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@login_required
@require_POST
def version_restore(
    request: HttpRequest, org_slug: str, space_slug: str, pk: int, number: int
) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk, "change")
    version = Version.objects.filter(document=document, number=number).first()
    if version is None:
        raise Http404
    try:
        restored = actions.restore_version(actor_from(request), version)
    except DocumentError as error:
        return refuse(request, org, error.message, actions.document_url(document), document.name)
    messages.success(
        request,
        _("Version %(old)d is the current one again (as version %(new)d).")
        % {"old": version.number, "new": restored.number},
    )
    return redirect(actions.document_url(document))


@login_required
@require_POST
def document_lock(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    """Lock (or unlock) a document. Whoever locked it, or a facilitator, unlocks it."""
    org, space = documents_space(request, org_slug, space_slug)
    document = document_or_404(request, space, pk)
    on = switch(request)
    if on is None:
        return not_understood(request, org, actions.document_url(document), document.name)
    from ..policies import MANAGE, folder_level, writes

    level = folder_level(request.user, document.folder)
    mine = document.locked_by_id in (None, request.user.pk)
    if not writes(level) or space.is_archived or (not mine and level != MANAGE):
        raise PermissionDenied
    try:
        actions.set_lock(actor_from(request), document, on)
    except DocumentError as error:
        return refuse(request, org, error.message, actions.document_url(document), document.name)
    messages.success(request, _("The document is locked.") if on else _("The document is unlocked."))
    return redirect(actions.document_url(document))
