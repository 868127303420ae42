"""Previews: thumbnails of images and PDFs, PDF pages as images, the start of a text file.

Rendered on first request and cached in the store's derived area under the content's hash (the
same bytes are rendered once, whatever document holds them). PDF pages are rendered by
`pdftoppm` (Debian's poppler-utils), outside Python, with a timeout.
"""

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from .extract import _text
from .models import Version
from .storage import blob_store

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
THUMB_SIZE = 240
PAGE_WIDTH = 900
TEXT_PREVIEW_CHARS = 100_000
RENDER_TIMEOUT = 60
MAX_IMAGE_PIXELS = 80_000_000


def kind(version: Version) -> str | None:
    """What the page can show: image, pdf, text, or nothing."""
    mime = version.mime_type
    if mime in IMAGE_TYPES:
        return "image"
    if mime == "application/pdf":
        return "pdf"
    if mime.startswith("text/") or mime in ("application/json",):
        return "text"
    return None


def _local_copy(version: Version) -> tuple[Path, bool]:
    """A path to the bytes: the blob itself on local disk, a temporary copy from S3."""
    store = blob_store()
    local = getattr(store, "path", None)
    if local is not None:
        return local(version.sha256), False
    with tempfile.NamedTemporaryFile(delete=False, suffix=".bin") as tmp, store.open(version.sha256) as src:
        shutil.copyfileobj(src, tmp, 1024 * 1024)
    return Path(tmp.name), True


def _pdftoppm(source: Path, page: int, width: int) -> bytes | None:
    program = shutil.which("pdftoppm")
    if program is None:
        return None
    with tempfile.TemporaryDirectory() as out:
        target = Path(out) / "page"
        try:
            subprocess.run(  # noqa: S603 - a fixed program from the system, our own arguments
                [
                    program,
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    "-scale-to-x",
                    str(width),
                    "-scale-to-y",
                    "-1",
                    "-jpeg",
                    "-jpegopt",
                    "quality=70",
                    str(source),
                    str(target),
                ],
                check=True,
                capture_output=True,
                timeout=RENDER_TIMEOUT,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        produced = target.with_suffix(".jpg")
        return produced.read_bytes() if produced.exists() else None


def _image_thumbnail(source: Path) -> bytes | None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(source) as image:
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=75)
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def thumbnail(version: Version) -> bytes | None:
    """A small JPEG for lists, or None when the file has no picture to show."""
    what = kind(version)
    if what not in ("image", "pdf") or not version.is_clean:
        return None
    key = f"thumb/{version.sha256}.jpg"
    store = blob_store()
    cached = store.read_derived(key)
    if cached is not None:
        return cached or None
    if what == "pdf" and shutil.which("pdftoppm") is None:
        return None  # not remembered as "no picture": it appears once poppler-utils is installed
    source, temporary = _local_copy(version)
    try:
        data = _image_thumbnail(source) if what == "image" else _pdftoppm(source, 1, THUMB_SIZE)
    finally:
        if temporary:
            source.unlink(missing_ok=True)
    store.write_derived(key, data or b"")
    return data


def page_count(version: Version) -> int:
    key = f"pages/{version.sha256}"
    store = blob_store()
    cached = store.read_derived(key)
    if cached is not None:
        return int(cached or b"0")
    from pypdf import PdfReader

    source, temporary = _local_copy(version)  # pypdf reads what it needs, not the whole file
    try:
        count = len(PdfReader(source).pages)
    except Exception:  # not a PDF pypdf can read: no pages to show
        count = 0
    finally:
        if temporary:
            source.unlink(missing_ok=True)
    store.write_derived(key, str(count).encode())
    return count


def pdf_page(version: Version, page: int) -> bytes | None:
    key = f"page/{version.sha256}/{page}.jpg"
    store = blob_store()
    cached = store.read_derived(key)
    if cached is not None:
        return cached or None
    if shutil.which("pdftoppm") is None:
        return None
    source, temporary = _local_copy(version)
    try:
        data = _pdftoppm(source, page, PAGE_WIDTH)
    finally:
        if temporary:
            source.unlink(missing_ok=True)
    store.write_derived(key, data or b"")
    return data


def text_start(version: Version) -> str:
    with blob_store().open(version.sha256) as f:
        return _text(f)[:TEXT_PREVIEW_CHARS]
