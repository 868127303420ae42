"""The in-app notification centre."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from parvis.core import actions, policies
from parvis.core.views.common import is_htmx, page, safe_next


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    items = policies.notifications.visible(request.user).select_related("organisation", "space")
    paginator = Paginator(items, 30)
    current = paginator.get_page(request.GET.get("page"))
    return page(request, "core/notifications/list.html", {"page": current})


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = policies.get_or_404(policies.notifications, request.user, pk=pk)
    actions.mark_read(request.user, [notification.pk])  # type: ignore[arg-type]
    return redirect(safe_next(request, notification.url, "/notifications/"))


@login_required
@require_POST
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    actions.mark_read(request.user)  # type: ignore[arg-type]
    if is_htmx(request):
        return page(request, "core/notifications/_marked.html")
    return redirect("core:notifications")
