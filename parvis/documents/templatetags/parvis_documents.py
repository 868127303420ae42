"""Filters of the GED templates: sizes in French units, which files have a thumbnail."""

from django import template

from ..actions import human_size
from ..previews import IMAGE_TYPES

register = template.Library()


@register.filter
def filesize(value: int | None) -> str:
    return "—" if value is None else human_size(int(value))


@register.filter
def thumbnailable(mime_type: str | None) -> bool:
    return mime_type in IMAGE_TYPES or mime_type == "application/pdf"
