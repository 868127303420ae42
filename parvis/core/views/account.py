"""A person's own account: profile, password, second factor, sessions, app passwords, and
how often Parvis may e-mail her."""

import base64
import io

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from parvis.core import actions, notify, policies
from parvis.core.audit import actor_from
from parvis.core.auth import (
    confirm_totp,
    create_app_password,
    disable_second_factor,
    has_second_factor,
    pending_totp,
    recovery_codes_left,
    regenerate_recovery_codes,
    revoke_app_password,
)
from parvis.core.forms import (
    AppPasswordForm,
    ConfirmPasswordForm,
    NotificationSettingsForm,
    PasswordChangeForm,
    ProfileForm,
    TOTPConfirmForm,
)
from parvis.core.models import NotificationSettings, SpacePreference, User
from parvis.core.sessions import end_sessions, renew_session_key
from parvis.core.views.common import invalid, page, posted, refuse


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ProfileForm(posted(request), initial={"full_name": user.full_name})
    context = {"form": form, "section": "profile"}
    if request.method == "POST":
        if not form.is_valid():
            return invalid(request, "core/account/profile.html", context)
        actions.update_profile(actor_from(request), user, form.cleaned_data["full_name"])
        messages.success(request, _("Your profile has been saved."))
        return redirect("core:profile")
    return page(request, "core/account/profile.html", context)


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(user, posted(request))
    context = {"form": form, "section": "password", "has_password": user.has_usable_password()}
    if request.method == "POST":
        if not form.is_valid():
            return invalid(request, "core/account/password.html", context)
        ended = actions.set_password(
            actor_from(request),
            user,
            form.cleaned_data["new_password2"],
            keep_session=request.session.session_key,
            end_others=form.cleaned_data["end_other_sessions"],
        )
        renew_session_key(request, user)
        messages.success(
            request,
            _("Your password has been changed.")
            + (" " + _("%(count)d other session(s) ended.") % {"count": ended} if ended else ""),
        )
        return redirect("core:password_change")
    return page(request, "core/account/password.html", context)


# --- Second factor ------------------------------------------------------------------------------


def _security_context(user: User, disable_form: ConfirmPasswordForm) -> dict[str, object]:
    return {
        "section": "security",
        "enabled": has_second_factor(user),
        "recovery_left": recovery_codes_left(user),
        "disable_form": disable_form,
    }


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return page(request, "core/account/security.html", _security_context(user, ConfirmPasswordForm(user)))


@login_required
def totp_enable(request: HttpRequest) -> HttpResponse:
    """Shows the QR code and the key to type by hand (for people who cannot scan), then checks
    one code before turning the factor on."""
    user = _user(request)
    device = pending_totp(user)
    form = TOTPConfirmForm(posted(request))
    context = {
        "form": form,
        "section": "security",
        "secret": _grouped_secret(device),
        "already": has_second_factor(user),
    }
    if request.method != "POST":
        return page(request, "core/account/totp_enable.html", context)
    if not form.is_valid() or not device.verify_token("".join(form.cleaned_data["code"].split())):
        if form.is_valid():
            form.add_error("code", _("This code is not valid. Check your phone's clock and try again."))
        return invalid(request, "core/account/totp_enable.html", context)
    actor = actor_from(request)
    codes = confirm_totp(actor, device)
    otp_login(request, device)
    ended = 0
    if form.cleaned_data["end_other_sessions"]:
        ended = end_sessions(user, keep=request.session.session_key)
    return page(
        request, "core/account/recovery_codes.html", {"codes": codes, "section": "security", "ended": ended}
    )


def _grouped_secret(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def totp_qr(request: HttpRequest) -> HttpResponse:
    """The provisioning QR code as SVG, for the device being set up only. A standalone SVG
    document (with its namespace: without it, an <img> shows nothing)."""
    device = pending_totp(_user(request))
    svg = io.BytesIO()
    segno.make(device.config_url, error="m").save(
        svg, kind="svg", xmldecl=False, scale=5, dark="#1b1b1b", light="#ffffff"
    )
    response = HttpResponse(svg.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not has_second_factor(user):
        message = _("Two-factor authentication is not on: there is nothing to turn off.")
        return refuse(request, None, message, reverse("core:security"), _("Two-factor authentication"))
    form = ConfirmPasswordForm(user, request.POST)
    if not form.is_valid():
        return invalid(request, "core/account/security.html", _security_context(user, form))
    disable_second_factor(actor_from(request), user)
    end_sessions(user, keep=request.session.session_key)
    messages.success(request, _("Two-factor authentication is off. Your other sessions have ended."))
    return redirect("core:security")


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working). Needs a verified session."""
    user = _user(request)
    if not has_second_factor(user) or not user.is_verified():  # type: ignore[attr-defined]
        messages.error(request, _("Sign in again with your second factor to do this."))
        return redirect("core:security")
    codes = regenerate_recovery_codes(actor_from(request), user)
    return page(
        request, "core/account/recovery_codes.html", {"codes": codes, "section": "security", "ended": 0}
    )


# --- Sessions -----------------------------------------------------------------------------------


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = policies.sessions.visible(request.user)
    return page(
        request,
        "core/account/sessions.html",
        {
            "section": "sessions",
            "sessions": sessions,
            "current": request.session.session_key,
        },
    )


@login_required
@require_POST
def session_end(request: HttpRequest, public_id: str) -> HttpResponse:
    sessions = [s for s in policies.sessions.visible(request.user) if s.public_id == public_id]
    if not sessions:
        raise Http404
    session = sessions[0]
    is_current = session.session_key == request.session.session_key
    actions.end_own_session(actor_from(request), session)
    if is_current:
        return redirect("core:login")
    messages.success(request, _("The session has ended."))
    return redirect("core:sessions")


@login_required
@require_POST
def session_end_others(request: HttpRequest) -> HttpResponse:
    ended = actions.end_other_sessions(actor_from(request), _user(request), request.session.session_key)
    messages.success(request, _("%(count)d other session(s) ended.") % {"count": ended})
    return redirect("core:sessions")


# --- App passwords ------------------------------------------------------------------------------


@login_required
def app_password_list(request: HttpRequest) -> HttpResponse:
    form = AppPasswordForm(posted(request))
    context = {
        "section": "app_passwords",
        "form": form,
        "app_passwords": policies.app_passwords.visible(request.user),
    }
    if request.method != "POST":
        return page(request, "core/account/app_passwords.html", context)
    if not form.is_valid():
        return invalid(request, "core/account/app_passwords.html", context)
    app_password, secret = create_app_password(actor_from(request), _user(request), form.cleaned_data["name"])
    response = page(
        request,
        "core/account/app_password_created.html",
        {"section": "app_passwords", "app_password": app_password, "secret": secret},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def app_password_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    app_password = policies.get_or_404(policies.app_passwords, request.user, pk=pk)
    revoke_app_password(actor_from(request), app_password)
    messages.success(
        request, _("The app password “%(name)s” has been revoked.") % {"name": app_password.name}
    )
    return redirect("core:app_passwords")


# --- Notifications budget -----------------------------------------------------------------------


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    own = NotificationSettings.objects.filter(user=user).first()
    budget = notify.budget_for(user)
    initial = {
        "quiet_hours_enabled": NotificationSettingsForm.tristate(own.quiet_hours_enabled if own else None),
        "quiet_start": own.quiet_start if own else None,
        "quiet_end": own.quiet_end if own else None,
        "weekends_off": NotificationSettingsForm.tristate(own.weekends_off if own else None),
    }
    form = NotificationSettingsForm(posted(request), initial=initial)
    context = {
        "section": "notifications",
        "form": form,
        "budget": budget,
        "sent_this_month": notify.emails_this_month(user),
        "space_preferences": SpacePreference.objects.filter(user=user)
        .select_related("space__organisation")
        .order_by("space__name"),
    }
    if request.method != "POST":
        return page(request, "core/account/notifications.html", context)
    if not form.is_valid():
        return invalid(request, "core/account/notifications.html", context)
    actions.set_notification_settings(actor_from(request), user, **form.settings())
    messages.success(request, _("Your notification settings have been saved."))
    return redirect("core:notification_settings")
