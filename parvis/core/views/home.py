"""Where a signed-in person lands."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from parvis.core import policies
from parvis.core.views.common import page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Her last organisation, or the first one; an operator without one goes to the operator
    screen; someone with none is told what to do."""
    orgs = policies.organisations.visible(request.user)
    last = request.user.last_organisation_id  # type: ignore[union-attr]
    org = orgs.filter(pk=last).first() or orgs.first()
    if org is not None:
        return redirect("spaces:my_spaces", org.slug)
    if request.user.is_superuser:
        return redirect("core:operator_organisations")
    return page(request, "core/no_organisation.html")


def accessibility(request: HttpRequest) -> HttpResponse:
    return page(request, "core/accessibility.html")
