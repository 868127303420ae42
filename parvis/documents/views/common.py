"""Access helpers of the GED views, and how a file is handed to the browser.

Every view starts with `documents_space()` (404 when the space is not visible or the tool is
off), then fetches its folder or document through the policy (`folder_or_404`,
`document_or_404`: the same 404 for missing and not yours), then requires the action (403).
"""

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import http_date
from django.utils.translation import gettext as _

from parvis.core import policies
from parvis.core.models import Organisation
from parvis.core.views.common import refuse
from parvis.spaces.models import Space
from parvis.spaces.views.spaces import get_space, space_page

from ..models import Document, Folder, Version
from ..policies import TOOL, documents_policy, folders_policy, tool_on
from ..storage import CHUNK, blob_store, iter_file

STREAM_CHUNK = 4 * CHUNK
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def documents_space(
    request: HttpRequest, org_slug: str, space_slug: str, action: str = "read"
) -> tuple[Organisation, Space]:
    """The space, if the person may `action` in it and its documents tool is on."""
    org, space = get_space(request, org_slug, space_slug, action)
    if not tool_on(space):
        raise Http404
    return org, space


def folder_or_404(request: HttpRequest, space: Space, pk: int, action: str = "view") -> Folder:
    folder = policies.get_or_404(folders_policy, request.user, space=space, pk=pk)
    policies.require(folders_policy, request.user, action, folder)
    return folder


def document_or_404(request: HttpRequest, space: Space, pk: int, action: str = "view") -> Document:
    qs = Document.objects.select_related("current", "folder", "space__organisation", "locked_by")
    document = policies.get_or_404(documents_policy, request.user, qs, space=space, pk=pk)
    policies.require(documents_policy, request.user, action, document)
    return document


def documents_page(
    request: HttpRequest,
    template: str,
    org: Organisation,
    space: Space,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    return space_page(request, template, org, space, TOOL, context, status=status)


def switch(request: HttpRequest) -> bool | None:
    """The `on` field of a button that turns something on (1) or off (0); None otherwise."""
    return {"1": True, "0": False}.get(request.POST.get("on", ""))


def not_understood(request: HttpRequest, org: Organisation, back: str, back_label: str) -> HttpResponse:
    """A French 400 page for a button posted with a value no page sends; nothing changed."""
    message = _("The request sent to Parvis is not valid. Go back and try again.")
    return refuse(request, org, message, back, back_label)


def breadcrumbs(folder: Folder) -> list[Folder]:
    """The folders from the top of the space down to this one (one query)."""
    by_id = {f.pk: f for f in Folder.objects.filter(pk__in=folder.ancestor_ids())}
    return [by_id[i] for i in folder.ancestor_ids() if i in by_id]


# --- Handing a file over ------------------------------------------------------------------------


def content_disposition(filename: str, inline: bool) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end inclusive) of one satisfiable range; None without a (usable) Range header;
    False when the range cannot be satisfied."""
    match = RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


async def _stream_async(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    try:
        if start:
            await asyncio.to_thread(f.seek, start)
        remaining = length
        while remaining > 0:
            chunk = await asyncio.to_thread(f.read, min(STREAM_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(f.close)


def _stream_sync(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter_file(f, start, length)


def serve(
    request: HttpRequest,
    version: Version,
    filename: str,
    *,
    inline: bool = False,
    content_type: str | None = None,
) -> HttpResponse:
    """The bytes of a version, without passing them through Python buffers when it can be
    helped: a presigned URL on S3, X-Accel-Redirect behind nginx, else an async stream (with
    Range support, so an interrupted download resumes)."""
    if not version.is_clean:
        raise PermissionDenied
    sha, size = version.sha256, version.size
    etag = f'"{sha}"'
    mime = content_type or (version.mime_type if inline else "application/octet-stream")
    delivery = blob_store().delivery(sha, filename, inline, mime)
    if delivery.url is not None:
        return HttpResponseRedirect(delivery.url)
    assert delivery.path is not None
    headers = {
        "Content-Disposition": content_disposition(filename, inline),
        "ETag": etag,
        "Last-Modified": http_date(version.file_modified_at.timestamp()),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    if settings.PARVIS_ACCEL_REDIRECT:
        response = HttpResponse(content_type=mime, headers=headers)
        response["X-Accel-Redirect"] = (
            f"{settings.PARVIS_ACCEL_REDIRECT.rstrip('/')}/{sha[:2]}/{sha[2:4]}/{sha}"
        )
        return response
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is False:
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = max(0, end - start + 1)
    if request.method == "HEAD":
        head = HttpResponse(
            content_type=mime, headers=headers, status=206 if isinstance(wanted, tuple) else 200
        )
        head["Content-Length"] = str(length)
        return head
    body: AsyncIterator[bytes] | Iterator[bytes]
    if isinstance(request, ASGIRequest):
        body = _stream_async(delivery.path, start, length)
    else:
        body = _stream_sync(delivery.path, start, length)
    response = StreamingHttpResponse(body, content_type=mime, headers=headers)
    response["Content-Length"] = str(length)
    if isinstance(wanted, tuple):
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
