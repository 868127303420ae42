"""Ways in for new people: e-mail invitations and access codes; and the administration of
invitations and templates."""

import secrets
import time

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import actions as core_actions
from parvis.core import policies, throttle
from parvis.core.audit import Actor, actor_from, audit, client_ip
from parvis.core.auth import throttled_message
from parvis.core.forms import FirstAdminForm, SignUpForm
from parvis.core.models import Organisation, OrgMembership, User, digest
from parvis.core.views.common import invalid, page, posted
from parvis.core.views.operator import require_operator
from parvis.spaces import actions
from parvis.spaces.forms import CodeEntryForm, InviteForm, TemplateForm
from parvis.spaces.models import AccessCode, Invitation, SpaceTemplate
from parvis.spaces.policies import invitations, templates

CODE_SESSION_KEY = "access_code"
CODE_SESSION_SECONDS = 1800


def _create_account(request: HttpRequest, form: SignUpForm, email: str) -> User:
    return core_actions.create_account(
        actor_from(request),
        email=email,
        password=form.cleaned_data["new_password2"],
        full_name=form.cleaned_data["full_name"],
    )


def _sign_in(request: HttpRequest, user: User) -> None:
    request.session["signed_in_with"] = "signup"
    login(request, user, backend="parvis.core.auth.EmailBackend")
    audit(Actor(user, client_ip(request)), "auth.login", user, data={"method": "signup"})


# --- Invitations --------------------------------------------------------------------------------


def _landing(invitation: Invitation) -> str:
    org = invitation.organisation
    if invitation.space is not None:
        return reverse("spaces:detail", args=[org.slug, invitation.space.slug])
    return reverse("spaces:my_spaces", args=[org.slug])


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation e-mail. Signed in: accept. Otherwise: create the account (or
    sign in first if one exists for that address)."""
    invitation = (
        Invitation.objects.select_related("organisation", "space").filter(token_digest=digest(token)).first()
    )
    if invitation is None or not invitation.is_usable() or not invitation.organisation.is_active:
        return page(request, "spaces/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                actions.accept_invitation(actor_from(request), invitation, request.user)  # type: ignore[arg-type]
            except ValueError:
                return page(request, "spaces/invitation_invalid.html", status=404)
            messages.success(request, _("Welcome to %(org)s.") % {"org": invitation.organisation})
            return redirect(_landing(invitation))
        return page(request, "spaces/invitation_accept.html", {"invitation": invitation})
    if User.objects.filter(email__iexact=invitation.email).exists():
        return page(
            request,
            "spaces/invitation_sign_in.html",
            {"invitation": invitation, "login_url": reverse("core:login") + "?next=" + request.path},
        )
    form = SignUpForm(posted(request), email=invitation.email)
    context = {"invitation": invitation, "form": form}
    if request.method != "POST":
        return page(request, "spaces/invitation_sign_up.html", context)
    if not form.is_valid():
        return invalid(request, "spaces/invitation_sign_up.html", context)
    try:
        with transaction.atomic():
            user = _create_account(request, form, invitation.email)
            actions.accept_invitation(Actor(user, client_ip(request)), invitation, user)
    except ValueError:  # used or withdrawn meanwhile: no account either
        return page(request, "spaces/invitation_invalid.html", status=404)
    _sign_in(request, user)
    return redirect(_landing(invitation))


@login_required
def invitation_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "administer")
    form = InviteForm(org, posted(request))
    pending = (
        invitations.visible(request.user)
        .filter(organisation=org, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("space")
    )
    context = {"form": form, "invitations": pending, "section": "invitations"}
    if request.method != "POST":
        return page(request, "spaces/invitations.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/invitations.html", context, organisation=org)
    actions.invite(
        actor_from(request),
        org,
        form.cleaned_data["email"],
        org_role=form.cleaned_data["role"],
        qualite=form.cleaned_data["qualite"],
    )
    messages.success(
        request, _("An invitation has been sent to %(email)s.") % {"email": form.cleaned_data["email"]}
    )
    return redirect("spaces:invitations", org.slug)


@login_required
def operator_first_admin(request: HttpRequest, pk: int) -> HttpResponse:
    """The operator invites an organisation's first administrator."""
    require_operator(request)
    org = get_object_or_404(Organisation, pk=pk)
    form = FirstAdminForm(posted(request))
    context = {"form": form, "organisation": org}
    if request.method != "POST":
        return page(request, "core/operator/first_admin.html", context)
    if not form.is_valid():
        return invalid(request, "core/operator/first_admin.html", context)
    actions.invite(
        actor_from(request),
        org,
        form.cleaned_data["email"],
        org_role=OrgMembership.Role.ADMIN,
        qualite=OrgMembership.Qualite.AGENT,
    )
    messages.success(
        request, _("An invitation has been sent to %(email)s.") % {"email": form.cleaned_data["email"]}
    )
    return redirect("core:operator_organisations")


# --- Access codes -------------------------------------------------------------------------------


def _code_identity(request: HttpRequest) -> str:
    """Throttle key: the account if signed in, else this browser (a random id kept in its
    session). Keying a signed-out visitor by her address would let one person's typos hold
    every colleague behind the mairie's shared address; an attacker who drops the cookie to
    start afresh still meets the per-address ceiling."""
    if request.user.is_authenticated:
        return request.user.email  # type: ignore[union-attr]
    browser = request.session.get("code_browser")
    if not browser:
        browser = secrets.token_urlsafe(16)
        request.session["code_browser"] = browser
    return f"navigateur:{browser}"


def _held_code(request: HttpRequest) -> AccessCode | None:
    held = request.session.get(CODE_SESSION_KEY)
    if not held or time.time() - held["at"] > CODE_SESSION_SECONDS:
        request.session.pop(CODE_SESSION_KEY, None)
        return None
    code = AccessCode.objects.select_related("space__organisation").filter(pk=held["id"]).first()
    return code if code is not None and code.is_usable() else None


def _redeem(request: HttpRequest, access_code: AccessCode) -> HttpResponse:
    try:
        space = actions.redeem_access_code(actor_from(request), access_code, request.user)  # type: ignore[arg-type]
    except ValueError:
        request.session.pop(CODE_SESSION_KEY, None)
        messages.error(request, _("This code can no longer be used."))
        return redirect("spaces:code_entry")
    request.session.pop(CODE_SESSION_KEY, None)
    messages.success(request, _("Welcome to the space “%(name)s”.") % {"name": space.name})
    return redirect("spaces:detail", space.organisation.slug, space.slug)


def code_entry(request: HttpRequest) -> HttpResponse:
    """Type an access code. Throttled like a password; invalid, expired, used-up and revoked
    codes all get the same answer."""
    form = CodeEntryForm(posted(request))
    context = {"form": form}
    if request.method != "POST":
        return page(request, "spaces/code_entry.html", context)
    if not form.is_valid():
        return invalid(request, "spaces/code_entry.html", context)
    identity, address = _code_identity(request), client_ip(request)
    verdict = throttle.check("access_code", identity, address)
    if not verdict.allowed:
        form.add_error(None, throttled_message(verdict))
        audit(Actor(None, address), "access_code.failed", data={"reason": "throttled"})
        return page(request, "spaces/code_entry.html", context, status=429)
    access_code = actions.find_access_code(form.cleaned_data["code"])
    if access_code is None or not access_code.space.organisation.is_active:
        throttle.fail("access_code", identity, address)
        audit(Actor(None, address), "access_code.failed", data={"reason": "unknown"})
        form.add_error(
            "code",
            _("This code is not valid, or no longer valid. Check it with the person who gave it to you."),
        )
        return page(request, "spaces/code_entry.html", context, status=400)
    throttle.succeed("access_code", identity, address)
    if request.user.is_authenticated:
        return _redeem(request, access_code)
    request.session[CODE_SESSION_KEY] = {"id": access_code.pk, "at": time.time()}
    return redirect("spaces:code_sign_up")


def code_sign_up(request: HttpRequest) -> HttpResponse:
    """After a valid code: create an account (or sign in) and land in the space as a guest."""
    access_code = _held_code(request)
    if access_code is None:
        messages.warning(request, _("Enter your access code first."))
        return redirect("spaces:code_entry")
    if request.user.is_authenticated:
        return _redeem(request, access_code)
    form = SignUpForm(posted(request))
    context = {
        "form": form,
        "space": access_code.space,
        "login_url": reverse("core:login") + "?next=" + request.path,
    }
    if request.method != "POST":
        return page(request, "spaces/code_sign_up.html", context)
    if not form.is_valid():
        return invalid(request, "spaces/code_sign_up.html", context)
    with transaction.atomic():
        user = _create_account(request, form, form.cleaned_data["email"])
    _sign_in(request, user)
    request.session[CODE_SESSION_KEY] = {"id": access_code.pk, "at": time.time()}
    return _redeem(request, access_code)


# --- Templates ----------------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "administer")
    return page(
        request,
        "spaces/templates.html",
        {"templates": templates.visible(request.user).filter(organisation=org), "section": "templates"},
        organisation=org,
    )


@login_required
def template_edit(request: HttpRequest, org_slug: str, pk: int | None = None) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "administer")
    template = None
    if pk is not None:
        template = policies.get_or_404(templates, request.user, organisation=org, pk=pk)
    instance = SpaceTemplate.objects.get(pk=template.pk) if template else None
    form = TemplateForm(posted(request), instance=instance)
    context = {"form": form, "template": template, "section": "templates"}
    if request.method != "POST":
        return page(request, "spaces/template_edit.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/template_edit.html", context, organisation=org)
    saved = actions.save_template(actor_from(request), org, template, **form.values())
    messages.success(request, _("The template “%(name)s” has been saved.") % {"name": saved.name})
    return redirect("spaces:templates", org.slug)


@login_required
@require_POST
def template_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "administer")
    template = policies.get_or_404(templates, request.user, organisation=org, pk=pk)
    actions.delete_template(actor_from(request), template)
    messages.success(request, _("The template “%(name)s” has been deleted.") % {"name": template.name})
    return redirect("spaces:templates", org.slug)
