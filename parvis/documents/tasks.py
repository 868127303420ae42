"""Background work of the GED: antivirus, text extraction, indexing, thumbnails, clean-ups.

Every task is idempotent: a worker may die half-way and the task run again.
"""

import datetime
import logging

from django.utils import timezone
from django_tasks import task

from . import actions, antivirus, extract, previews, search
from .models import Document, Upload, Version
from .storage import blob_store

log = logging.getLogger(__name__)


@task()
def process_version(version_id: int) -> str:
    """After an upload: the antivirus (when configured), then the text and the index."""
    version = Version.objects.select_related("document").filter(pk=version_id).first()
    if version is None:
        return "gone"
    if version.status == Version.Status.PENDING:
        try:
            with blob_store().open(version.sha256) as f:
                verdict = antivirus.scan(f)
        except antivirus.ScanError:
            log.warning("antivirus unavailable; version %s stays in quarantine", version_id)
            return "pending"
        actions.record_scan(version, verdict.clean, verdict.signature)
        if not verdict.clean:
            return "infected"
        version.refresh_from_db()
    if not version.extracted:
        with blob_store().open(version.sha256) as f:
            text = extract.extract_text(f, version.document.name, version.mime_type, version.size)
        actions.record_text(version, text)
    index_document.call(version.document_id)
    version.refresh_from_db()
    previews.thumbnail(version)
    return "clean"


@task()
def index_document(document_id: int) -> None:
    document = Document.objects.select_related("current").filter(pk=document_id).first()
    if document is not None:
        search.index(document)


def housekeeping(now: datetime.datetime | None = None) -> None:
    """Called by the scheduler's tick: trash past its retention, abandoned uploads, bytes
    nothing points to, and scans that a stopped antivirus left waiting."""
    now = now or timezone.now()
    actions.purge_expired(now)
    for upload in Upload.objects.filter(expires_at__lt=now):
        actions.discard_upload(upload)
    actions.collect_garbage()
    stale = now - datetime.timedelta(minutes=5)
    for pk in Version.objects.filter(status=Version.Status.PENDING, created_at__lt=stale).values_list(
        "pk", flat=True
    )[:100]:
        process_version.enqueue(pk)
