"""Uploads: a form post of files (and of a whole folder, with its paths), and resumable
chunked uploads for large files.

A form post is written straight into the store's spool folder, hashed on the way (Django's
own temporary copy is skipped), then renamed into the store. A chunked upload appends each
chunk to one file and answers only once it is fsynced; after a network cut or a server
restart the client asks where it stands and goes on from there.
"""

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from parvis.core.audit import actor_from

from .. import actions
from ..actions import DocumentError
from ..models import Upload
from ..storage import SpoolFile, blob_store
from .browse import folder_context
from .common import documents_page, documents_space, folder_or_404

CHUNK_BYTES = 8 * 1024 * 1024
MAX_FILES_PER_POST = 1000


class SpooledUpload(UploadedFile):
    """A file of a form post, already in the store's spool folder with its hash."""

    def __init__(self, spool: SpoolFile, sha: str, name: str, content_type: str | None) -> None:
        super().__init__(spool.path.open("rb"), name, content_type, spool.size)
        self.spool, self.sha = spool, sha


class SpoolUploadHandler(FileUploadHandler):
    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.spool = blob_store().spool()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.spool.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        sha = self.spool.finish()
        return SpooledUpload(self.spool, sha, self.file_name or "", self.content_type)

    def upload_interrupted(self) -> None:
        spool = getattr(self, "spool", None)
        if spool is not None:
            spool.discard()


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _modified(value: str) -> datetime.datetime | None:
    """A file's modification time sent by the browser, in milliseconds since 1970."""
    if not value or not value.isdigit() or len(value) > 15:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


@csrf_exempt
@login_required
@require_POST
def upload(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    request.upload_handlers = [SpoolUploadHandler(request)]
    return _upload(request, org_slug, space_slug, pk)


@csrf_protect
def _upload(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk, "change")
    files = request.FILES.getlist("files")
    paths = request.POST.getlist("paths")
    modified = request.POST.getlist("modified")
    stored, errors = [], []
    try:
        if not files:
            errors.append(_("Choose at least one file."))
        for index, file in enumerate(files[:MAX_FILES_PER_POST]):
            relative = paths[index] if index < len(paths) else ""
            try:
                target = actions.ensure_path(actor_from(request), folder, actions.relative_parts(relative))
                result = actions.store_file(
                    actor_from(request),
                    target,
                    file.name or "",
                    file.spool.path,  # type: ignore[attr-defined]
                    file.sha,  # type: ignore[attr-defined]
                    file.size or 0,
                    modified_at=_modified(modified[index] if index < len(modified) else ""),
                )
            except DocumentError as error:
                errors.append(f"{file.name} : {error.message}")
                continue
            stored.append(result)
    finally:
        for file in files:
            file.close()
            file.spool.discard()  # type: ignore[attr-defined]
    if stored:  # shown on the folder page (the one the script reloads, or the one the form returns to)
        count = len(stored)
        messages.success(
            request, ngettext("%(count)d file added.", "%(count)d files added.", count) % {"count": count}
        )
    if wants_json(request):
        body = {
            "files": [
                {
                    "name": s.document.name,
                    "url": actions.document_url(s.document),
                    "version": s.version.number,
                }
                for s in stored
            ],
            "errors": errors,
        }
        return JsonResponse(body, status=400 if errors and not stored else 200)
    if errors and not stored:
        context = folder_context(request, space, folder) | {"upload_errors": errors}
        return documents_page(request, "documents/folder.html", org, space, context, status=400)
    for error in errors:
        messages.error(request, error)
    return redirect(actions.folder_url(folder))


# --- Chunked, resumable uploads -----------------------------------------------------------------


def _error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _upload_state(upload: Upload) -> dict[str, Any]:
    space = upload.folder.space
    return {
        "id": str(upload.pk),
        "offset": upload.received,
        "size": upload.size,
        "chunk": CHUNK_BYTES,
        "url": f"/o/{space.organisation.slug}/e/{space.slug}/documents/televersements/{upload.pk}/",
    }


@login_required
@require_POST
def upload_start(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    folder = folder_or_404(request, space, pk, "change")
    size = request.POST.get("size", "")
    if not size.isdigit() or len(size) > 15:
        return _error(_("The size of the file is missing or not a number."))
    try:
        upload_ = actions.start_upload(
            actor_from(request),
            folder,
            request.POST.get("name", ""),
            int(size),
            relative_path=request.POST.get("path", ""),
            modified_at=_modified(request.POST.get("modified", "")),
        )
    except DocumentError as error:
        return _error(error.message, 413 if error.status in (413, 507) else 400)
    return JsonResponse(_upload_state(upload_), status=201)


def _my_upload(request: HttpRequest, space_pk: int, upload_id: str) -> Upload:
    """An upload is reachable by the person who started it only, in its space, while she may
    still write in its folder."""
    from ..policies import folders_policy

    upload_ = (
        Upload.objects.select_related("folder__space__organisation")
        .filter(pk=upload_id, user=request.user, folder__space_id=space_pk, expires_at__gt=timezone.now())
        .first()
    )
    if upload_ is None or not folders_policy.can(request.user, "change", upload_.folder):
        raise Http404
    return upload_


@login_required
@require_http_methods(["GET", "PUT", "DELETE"])
def upload_part(request: HttpRequest, org_slug: str, space_slug: str, upload_id: str) -> HttpResponse:
    """GET: where the upload stands. PUT: the next chunk (header Upload-Offset). DELETE: give up."""
    _org, space = documents_space(request, org_slug, space_slug)
    upload_ = _my_upload(request, space.pk, upload_id)
    if request.method == "GET":
        return JsonResponse(_upload_state(upload_))
    if request.method == "DELETE":
        actions.discard_upload(upload_)
        return HttpResponse(status=204)
    offset = request.headers.get("Upload-Offset", "")
    if not offset.isdigit():
        return _error(_("The position of this part (Upload-Offset) is missing."))
    try:
        position = actions.append_chunk(upload_, int(offset), request.read)
    except DocumentError as error:
        upload_.refresh_from_db()
        return _error(error.message, 409 if error.status == 409 else 400, offset=upload_.received)
    return JsonResponse({"offset": position, "size": upload_.size})


@login_required
@require_POST
def upload_finish(request: HttpRequest, org_slug: str, space_slug: str, upload_id: str) -> HttpResponse:
    _org, space = documents_space(request, org_slug, space_slug)
    upload_ = _my_upload(request, space.pk, upload_id)
    try:
        stored = actions.finish_upload(actor_from(request), upload_)
    except DocumentError as error:
        return _error(error.message, 409 if error.status == 409 else 400, offset=upload_.received)
    messages.success(request, _("“%(name)s” has been added.") % {"name": stored.document.name})
    return JsonResponse(
        {
            "name": stored.document.name,
            "url": actions.document_url(stored.document),
            "version": stored.version.number,
        }
    )
