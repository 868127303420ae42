"""Share links: made and revoked by whoever writes where the item is; opened by anyone who has
the link (and its password, when it has one), until it expires or its downloads run out."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import policies, throttle
from parvis.core.audit import Actor, actor_from, client_ip
from parvis.core.auth import throttled_message
from parvis.core.views.common import posted

from .. import actions
from ..actions import DocumentError, display_name
from ..forms import ShareLinkForm, SharePasswordForm
from ..models import Document, Folder, ShareLink
from ..policies import documents_policy, folders_policy, share_link_works, share_links_policy
from .browse import _in_thread, item_or_404, item_url, zip_entries, zip_stream
from .common import content_disposition, documents_page, documents_space, serve

UNLOCKED = "parvis-share-unlocked"


@login_required
def item_share(request: HttpRequest, org_slug: str, space_slug: str, kind: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    item = item_or_404(request, space, kind, pk, "view")
    folder = item if isinstance(item, Folder) else item.folder
    if not folders_policy.can(request.user, "change", folder) or space.block_downloads:
        raise PermissionDenied
    form = ShareLinkForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            link, token = actions.create_share_link(
                actor_from(request),
                item,
                expires_at=form.expires_at(),
                password=form.cleaned_data["password"],
                max_downloads=form.cleaned_data["max_downloads"],
            )
        except DocumentError as error:
            form.add_error(None, error.message)
        else:
            url = request.build_absolute_uri(f"/partage/{token}/")
            context = {"item": item, "link": link, "url": url, "back": item_url(item)}
            return documents_page(request, "documents/share_created.html", org, space, context)
    lookup = {"folder": item} if isinstance(item, Folder) else {"document": item}
    links = share_links_policy.visible(request.user).filter(**lookup, revoked_at__isnull=True)
    context = {"item": item, "kind": kind, "form": form, "links": links, "back": item_url(item)}
    status = 400 if request.method == "POST" else 200
    return documents_page(request, "documents/share.html", org, space, context, status=status)


@login_required
@require_POST
def share_revoke(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    link = policies.get_or_404(share_links_policy, request.user, space=space, pk=pk)
    actions.revoke_share_link(actor_from(request), link)
    messages.success(request, _("The link no longer works."))
    return redirect(item_url(link.target))


# --- Public side --------------------------------------------------------------------------------


def _link_or_404(token: str) -> ShareLink:
    link = actions.find_share_link(token)
    if link is None or not share_link_works(link):
        raise Http404
    maker, target = link.created_by, link.target
    policy = folders_policy if isinstance(target, Folder) else documents_policy
    if maker is None or not policy.can(maker, "view", target):  # type: ignore[attr-defined]
        raise Http404  # what its maker can no longer see, her link no longer shows
    return link


def _unlocked(request: HttpRequest, link: ShareLink) -> bool:
    return not link.password_hash or link.pk in request.session.get(UNLOCKED, [])


def _shared_folder_items(link: ShareLink, folder: Folder) -> tuple[list[Folder], list[Document]]:
    """What the link shows of a folder: what its maker may still see there."""
    maker = link.created_by
    folders = folders_policy.visible(maker).filter(parent=folder).order_by("name")  # type: ignore[arg-type]
    docs = (
        documents_policy.visible(maker)  # type: ignore[arg-type]
        .filter(folder=folder, current__status="clean")
        .select_related("current")
        .order_by("name")
    )
    return list(folders), list(docs)


def _inside(link: ShareLink, folder_pk: str | None) -> Folder:
    """A folder of the shared tree that its maker can still see (the shared folder itself
    by default)."""
    root = link.folder
    assert root is not None
    if not folder_pk:
        folder = root
    elif folder_pk.isdigit():
        folder = Folder.objects.filter(pk=int(folder_pk), path__startswith=root.path).first()  # type: ignore[assignment]
    else:
        folder = None  # type: ignore[assignment]
    if folder is None or not folders_policy.can(link.created_by, "view", folder):  # type: ignore[arg-type]
        raise Http404
    return folder


def share_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    if not _unlocked(request, link):
        form = SharePasswordForm(posted(request))
        status = 200
        if request.method == "POST":
            status = 400
            address = client_ip(request)
            verdict = throttle.check("share_password", link.token_digest, address)
            if not verdict.allowed:
                form.add_error(None, throttled_message(verdict))
                status = 429
            elif form.is_valid() and check_password(form.cleaned_data["password"], link.password_hash):
                throttle.succeed("share_password", link.token_digest, address)
                request.session[UNLOCKED] = [*request.session.get(UNLOCKED, []), link.pk][-50:]
                return redirect(request.path)
            elif form.is_valid():
                throttle.fail("share_password", link.token_digest, address)
                form.add_error("password", _("This is not the password of this link."))
        return render(request, "documents/public/password.html", {"form": form, "link": link}, status=status)
    context: dict[str, object] = {"link": link, "token": token}
    if link.document_id:
        context["document"] = link.document
    else:
        folder = _inside(link, request.GET.get("dossier"))
        subfolders, docs = _shared_folder_items(link, folder)
        context |= {
            "folder": folder,
            "folder_title": display_name(folder) if folder != link.folder else link.folder.name,  # type: ignore[union-attr]
            "subfolders": subfolders,
            "documents": docs,
            "at_top": folder == link.folder,
        }
    return render(request, "documents/public/share.html", context)


def _count_or_gone(request: HttpRequest, link: ShareLink) -> None:
    if not actions.count_share_download(Actor(None, client_ip(request)), link):
        raise Http404


def share_download(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    if not _unlocked(request, link) or link.document is None:
        raise Http404
    document = link.document
    if document.current is None or not document.current.is_clean:
        raise Http404
    _count_or_gone(request, link)
    return serve(request, document.current, document.name)


def share_file(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    link = _link_or_404(token)
    if not _unlocked(request, link) or link.folder is None:
        raise Http404
    document = (
        documents_policy.visible(link.created_by)  # type: ignore[arg-type]
        .filter(pk=pk, folder__path__startswith=link.folder.path)
        .select_related("current")
        .first()
    )
    if document is None or document.current is None or not document.current.is_clean:
        raise Http404
    _count_or_gone(request, link)
    return serve(request, document.current, document.name)


def share_zip(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    if not _unlocked(request, link) or link.folder is None:
        raise Http404
    _count_or_gone(request, link)
    chunks = zip_stream(zip_entries(link.created_by, link.folder))
    body = _in_thread(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = content_disposition(f"{link.folder.name}.zip", inline=False)
    return response
