"""Background work of the GED: antivirus, text extraction, indexing, thumbnails, clean-ups.

Every task is idempotent: a worker may die half-way and the task run again.
"""

import datetime
import logging
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone, translation
from django_tasks import task

from . import actions, antivirus, extract, previews, search, usage
from .models import Document, Upload, Version
from .storage import blob_store

log = logging.getLogger(__name__)


@task()
def process_version(version_id: int) -> str:
    """After an upload: the antivirus (when configured), then the text and the index.

    Run in the site's language whatever worker runs it: the uploader of a refused file is
    told in a notification written now."""
    with translation.override(settings.LANGUAGE_CODE):
        return _process_version(version_id)


def _process_version(version_id: int) -> str:
    version = Version.objects.select_related("document").filter(pk=version_id).first()
    if version is None:
        return "gone"
    if version.status == Version.Status.PENDING:
        try:
            with blob_store().open(version.sha256) as f:
                verdict = antivirus.scan(f)
        except antivirus.ScanError as error:
            log.warning("antivirus unavailable (%s); version %s stays in quarantine", error, version_id)
            return "pending"
        try:
            actions.record_scan(version, verdict.clean, verdict.signature)
        except Version.DoesNotExist:  # deleted (purged) while it was being scanned
            return "gone"
        if not verdict.clean:
            log.warning("antivirus refused version %s: %s", version_id, verdict.signature)
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
    nothing points to, the daily recount of the bytes each organisation uses, and scans that a
    stopped antivirus left waiting."""
    now = now or timezone.now()
    actions.purge_expired(now)
    for upload in Upload.objects.filter(expires_at__lt=now):
        actions.discard_upload(upload)
    sweep_spool(now)
    actions.collect_garbage()
    usage.recount(now)
    stale = now - datetime.timedelta(minutes=5)
    for pk in Version.objects.filter(status=Version.Status.PENDING, created_at__lt=stale).values_list(
        "pk", flat=True
    )[:100]:
        process_version.enqueue(pk)


def sweep_spool(now: datetime.datetime | None = None) -> int:
    """Remove what a crash left in the spool folder: a form post cut off mid-way, the link of
    a finished upload not yet cleaned. Only files older than an upload may live, and never
    the file of an upload still in progress."""
    now = now or timezone.now()
    folder = Path(blob_store().spool_dir)
    if not folder.is_dir():
        return 0
    cutoff = (now - actions.UPLOAD_LIFETIME).timestamp()
    live = {f"upload-{pk}" for pk in Upload.objects.values_list("pk", flat=True)}
    removed = 0
    for entry in os.scandir(folder):
        if entry.name in live or not entry.name.startswith(("spool-", "upload-")):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
