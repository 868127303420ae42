"""Real files for the tests, made by the tests themselves: a PDF with text on its pages (written
by hand, as a PDF reader expects it), a DOCX (python-docx), an ODT (odfpy), a PNG (Pillow)."""

import io

from parvis.documents.samples import pdf

__all__ = ["docx", "odt", "pdf", "png"]


def docx(*paragraphs: str) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt(*paragraphs: str) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    for paragraph in paragraphs:
        document.text.addElement(P(text=paragraph))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (36, 69, 122)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()
