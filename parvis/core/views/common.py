"""Small helpers shared by views."""

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from parvis.core.actions import use_organisation
from parvis.core.models import Organisation


def safe_next(request: HttpRequest, value: str | None, default: str) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return default


def posted(request: HttpRequest) -> QueryDict | None:
    """The POST data to bind a form to, or None on GET. Not `request.POST or None`: an empty
    POST must still bind the form, so that it shows its "required" errors."""
    return request.POST if request.method == "POST" else None


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    organisation: Organisation | None = None,
) -> HttpResponse:
    """Render a page; with `organisation`, it becomes the person's current one."""
    context = context or {}
    if organisation is not None:
        request.organisation = organisation  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            use_organisation(request.user, organisation)  # type: ignore[arg-type]
        context.setdefault("org", organisation)
    return render(request, template, context, status=status)


def refuse(
    request: HttpRequest,
    org: Organisation | None,
    message: str,
    back: str,
    back_label: str,
) -> HttpResponse:
    """Bad input posted from a button or a menu of a page (a role, a frequency, a direction):
    nothing changes; a French 400 page says what was wrong and links back to the page."""
    context = {"message": message, "back": back, "back_label": back_label}
    return page(request, "core/refused.html", context, status=400, organisation=org)


def invalid(
    request: HttpRequest, template: str, context: dict[str, Any], organisation: Organisation | None = None
) -> HttpResponse:
    """A form with errors: shown again with its French messages, nothing changed."""
    return page(request, template, context, status=400, organisation=organisation)
