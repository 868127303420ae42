"""Who is in a space: members, groups, invitations, requests to join and access codes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import policies
from parvis.core.audit import actor_from
from parvis.core.views.common import posted, refuse
from parvis.spaces import actions
from parvis.spaces.forms import AccessCodeForm, GroupGrantForm, RoleForm, SpaceInviteForm
from parvis.spaces.models import Invitation, JoinRequest, SpaceMembership
from parvis.spaces.policies import (
    access_codes,
    group_grants,
    invitations,
    join_requests,
    space_members,
    spaces,
)
from parvis.spaces.views.spaces import get_space, space_page


@login_required
def member_list(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "read")
    manage = spaces.can(request.user, "manage", space)
    form = SpaceInviteForm(posted(request))
    members = (
        space_members.visible(request.user)
        .filter(space=space)
        .select_related("user")
        .order_by("user__full_name")
    )
    guests = set(org.memberships.filter(role="guest").values_list("user_id", flat=True))
    context = {
        "manage": manage,
        "form": form,
        "guests": guests,
        "members": members,
        "grants": space.group_grants.select_related("group").order_by("group__name"),
        "invitations": invitations.visible(request.user).filter(
            space=space, accepted_at__isnull=True, revoked_at__isnull=True
        )
        if manage
        else [],
        "role_choices": RoleForm.base_fields["role"].choices,
    }
    if request.method != "POST":
        return space_page(request, "spaces/members.html", org, space, "members", context)
    policies.require(spaces, request.user, "manage", space)
    if not form.is_valid():
        return space_page(request, "spaces/members.html", org, space, "members", context, 400)
    result = actions.invite_to_space(
        actor_from(request), space, form.cleaned_data["email"], form.cleaned_data["role"]
    )
    if isinstance(result, Invitation):
        messages.success(request, _("An invitation has been sent to %(email)s.") % {"email": result.email})
    else:
        messages.success(request, _("%(name)s has been added to the space.") % {"name": result.user})
    return redirect("spaces:members", org.slug, space.slug)


@login_required
@require_POST
def member_update(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    """Change a member's role, or remove her (her connections to the space close at once)."""
    org, space = get_space(request, org_slug, space_slug, "manage")
    membership: SpaceMembership = policies.get_or_404(space_members, request.user, space=space, pk=pk)
    actor = actor_from(request)
    if request.POST.get("remove") == "1":
        actions.remove_space_member(actor, membership)
        messages.success(request, _("%(name)s has been removed from the space.") % {"name": membership.user})
        return redirect("spaces:members", org.slug, space.slug)
    form = RoleForm(request.POST)
    if not form.is_valid():
        back = reverse("spaces:members", args=[org.slug, space.slug])
        return refuse(request, org, _("Choose one of the proposed roles."), back, _("Members"))
    actions.set_space_role(actor, membership, form.cleaned_data["role"])
    messages.success(request, _("The role of %(name)s has been changed.") % {"name": membership.user})
    return redirect("spaces:members", org.slug, space.slug)


@login_required
def group_grant_list(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    form = GroupGrantForm(org, posted(request))
    context = {
        "form": form,
        "grants": group_grants.visible(request.user)
        .filter(space=space)
        .select_related("group")
        .order_by("group__name"),
    }
    if request.method != "POST":
        return space_page(request, "spaces/group_grants.html", org, space, "settings", context)
    if not form.is_valid():
        return space_page(request, "spaces/group_grants.html", org, space, "settings", context, 400)
    actions.set_group_grant(
        actor_from(request), space, form.cleaned_data["group"], form.cleaned_data["role"] or None
    )
    messages.success(
        request,
        _("Access of the group “%(name)s” has been saved.") % {"name": form.cleaned_data["group"].name},
    )
    return redirect("spaces:groups", org.slug, space.slug)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    invitation = policies.get_or_404(invitations, request.user, organisation=org, pk=pk)
    actions.revoke_invitation(actor_from(request), invitation)
    messages.success(
        request, _("The invitation to %(email)s has been withdrawn.") % {"email": invitation.email}
    )
    if invitation.space is not None and request.POST.get("from") == "space":
        return redirect("spaces:members", org.slug, invitation.space.slug)
    return redirect("spaces:invitations", org.slug)


# --- Requests to join ---------------------------------------------------------------------------


@login_required
def request_list(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    pending = (
        join_requests.visible(request.user)
        .filter(space=space, status=JoinRequest.Status.PENDING)
        .select_related("user")
    )
    return space_page(
        request,
        "spaces/requests.html",
        org,
        space,
        "requests",
        {"requests": pending, "role_choices": RoleForm.base_fields["role"].choices},
    )


@login_required
@require_POST
def request_decide(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    join_request = policies.get_or_404(join_requests, request.user, space=space, pk=pk)
    policies.require(join_requests, request.user, "decide", join_request)
    back = reverse("spaces:requests", args=[org.slug, space.slug])
    if request.POST.get("decision") not in ("approve", "refuse"):
        return refuse(
            request,
            org,
            _("The request sent to Parvis is not valid. Go back and try again."),
            back,
            _("Requests to join"),
        )
    approve = request.POST.get("decision") == "approve"
    form = RoleForm(request.POST)
    if approve and not form.is_valid():
        return refuse(request, org, _("Choose one of the proposed roles."), back, _("Requests to join"))
    role = form.cleaned_data["role"] if approve else ""
    actions.decide_join_request(actor_from(request), join_request, approve, role)
    messages.success(request, _("Request approved.") if approve else _("Request declined."))
    return redirect("spaces:requests", org.slug, space.slug)


# --- Access codes -------------------------------------------------------------------------------


@login_required
def code_list(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    form = AccessCodeForm(posted(request))
    context = {"form": form, "codes": access_codes.visible(request.user).filter(space=space)}
    if request.method != "POST":
        return space_page(request, "spaces/codes.html", org, space, "codes", context)
    if not form.is_valid():
        return space_page(request, "spaces/codes.html", org, space, "codes", context, 400)
    access_code, code = actions.create_access_code(
        actor_from(request),
        space,
        role=form.cleaned_data["role"],
        expires_at=form.expires_at(),
        max_uses=form.cleaned_data["max_uses"],
        label=form.cleaned_data["label"],
    )
    response = space_page(
        request, "spaces/code_created.html", org, space, "codes", {"access_code": access_code, "code": code}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def code_revoke(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    access_code = policies.get_or_404(access_codes, request.user, space=space, pk=pk)
    actions.revoke_access_code(actor_from(request), access_code)
    messages.success(request, _("The code has been revoked; it can no longer be used."))
    return redirect("spaces:codes", org.slug, space.slug)
