"""The operator's screen: the organisations hosted on this server."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from parvis.core import actions, policies
from parvis.core.audit import actor_from
from parvis.core.forms import OrganisationForm
from parvis.core.models import Organisation
from parvis.core.views.common import invalid, page, posted


def require_operator(request: HttpRequest) -> None:
    if not policies.organisations.can(request.user, "operate", Organisation()):
        raise PermissionDenied


@login_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    require_operator(request)
    orgs = Organisation.objects.annotate(
        member_count=Count("memberships", filter=Q(memberships__is_active=True))
    ).order_by("name")
    return page(request, "core/operator/organisations.html", {"organisations": orgs})


@login_required
def organisation_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require_operator(request)
    org = get_object_or_404(Organisation, pk=pk) if pk is not None else Organisation()
    # The form works on a copy, so a rejected submission changes nothing in memory either.
    form = OrganisationForm(
        posted(request), instance=Organisation.objects.get(pk=pk) if pk is not None else None
    )
    context = {"form": form, "organisation": org if pk is not None else None}
    if request.method != "POST":
        return page(request, "core/operator/organisation_edit.html", context)
    if not form.is_valid():
        return invalid(request, "core/operator/organisation_edit.html", context)
    actor = actor_from(request)
    if pk is None:
        org = actions.create_organisation(actor, **form.values())
        messages.success(
            request,
            _("The organisation “%(name)s” has been created. Invite its first administrator.")
            % {"name": org.name},
        )
        return redirect("spaces:operator_first_admin", org.pk)
    actions.update_organisation(actor, org, **form.values())
    messages.success(request, _("The organisation “%(name)s” has been saved.") % {"name": org.name})
    return redirect("core:operator_organisations")
