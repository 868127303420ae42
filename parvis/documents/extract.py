"""Text of a file, for search: PDF (pypdf), DOCX (python-docx), ODT (odfpy) and plain text.

Extraction never fails an upload: a file it cannot read simply has no text. Pages and
characters are capped so a huge or hostile file cannot exhaust the worker.
"""

import codecs
import io
import logging
from typing import BinaryIO

log = logging.getLogger(__name__)

MAX_CHARS = 1_000_000
MAX_PAGES = 500
MAX_BYTES = 100 * 1024 * 1024

TEXT_TYPES = ("text/plain", "text/csv", "text/markdown", "application/json", "text/html", "text/xml")


def kind_of(name: str, mime_type: str) -> str | None:
    lower = name.lower()
    if mime_type == "application/pdf" or lower.endswith(".pdf"):
        return "pdf"
    if lower.endswith(".docx"):
        return "docx"
    if lower.endswith(".odt"):
        return "odt"
    if mime_type.startswith("text/") or mime_type in TEXT_TYPES or lower.endswith((".txt", ".csv", ".md")):
        return "text"
    return None


def _pdf(data: BinaryIO) -> str:
    from pypdf import PdfReader

    reader = PdfReader(data)
    parts, length = [], 0
    for page in reader.pages[:MAX_PAGES]:
        text = page.extract_text() or ""
        parts.append(text)
        length += len(text)
        if length > MAX_CHARS:
            break
    return "\n".join(parts)


def _docx(data: BinaryIO) -> str:
    import docx

    document = docx.Document(data)
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _odt(data: BinaryIO) -> str:
    from odf import teletype, text
    from odf.opendocument import load

    document = load(data)
    parts = [teletype.extractText(e) for e in document.getElementsByType(text.H)]
    parts += [teletype.extractText(e) for e in document.getElementsByType(text.P)]
    return "\n".join(parts)


def decode(raw: bytes) -> str:
    """Text of unknown encoding: UTF-8 (with or without its BOM), UTF-16 with its BOM (what
    Windows' Notepad calls "Unicode"), else Windows-1252, the usual encoding of French files
    written on Windows. `raw` may be the start of a longer file: a UTF-8 character cut at its
    end is dropped, not taken for a sign of another encoding."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _text(data: BinaryIO) -> str:
    return decode(data.read(MAX_CHARS * 2))


READERS = {"pdf": _pdf, "docx": _docx, "odt": _odt, "text": _text}


def extract_text(data: BinaryIO, name: str, mime_type: str, size: int) -> str:
    kind = kind_of(name, mime_type)
    if kind is None or size > MAX_BYTES:
        return ""
    try:
        if kind != "text":
            data = io.BytesIO(data.read())  # the readers need a seekable file
        text = READERS[kind](data)
    except Exception:  # a file it cannot read (corrupt, encrypted, hostile) has no text
        log.info("no text extracted from a %s file", kind)
        return ""
    return text.replace("\x00", "")[:MAX_CHARS]
