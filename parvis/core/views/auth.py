"""Signing in and out, the second factor, and the self-service password reset."""

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from parvis.core import throttle
from parvis.core.actions import set_password
from parvis.core.audit import Actor, actor_from, audit, client_ip
from parvis.core.auth import (
    check_password_attempt,
    check_second_factor,
    has_second_factor,
    remember_device,
    throttled_message,
)
from parvis.core.forms import LoginForm, PasswordResetForm, ResetPasswordForm, SecondFactorForm
from parvis.core.models import User
from parvis.core.oidc import sign_out
from parvis.core.views.common import invalid, page, posted, safe_next

PENDING_KEY = "pending_second_factor"
PENDING_SECONDS = 300


def complete_login(request: HttpRequest, user: User, device: Any, next_url: str) -> HttpResponse:
    """The last step of every way in: session (new key), second factor mark, audit, cookie."""
    method = request.session.pop("signed_in_with", "password")
    request.session.pop(PENDING_KEY, None)
    # The provider's ID token, needed to sign out of it, must outlive login()'s flush when
    # someone else was signed in, and must not linger from an abandoned provider sign-in.
    id_token = request.session.pop("oidc_id_token", None)
    login(request, user, backend="parvis.core.auth.EmailBackend")
    if method == "oidc" and id_token:
        request.session["oidc_id_token"] = id_token
    if device is not None:
        otp_login(request, device)
    audit(
        Actor(user, client_ip(request)),
        "auth.login",
        user,
        data={"method": method, "second_factor": device is not None},
    )
    response = HttpResponseRedirect(next_url)
    remember_device(request, response, user.email)
    return response


def start_second_factor(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Password (or provider) accepted: remember who, for five minutes, and ask for the code."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
    return redirect("core:login_second_factor")


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), reverse("core:home"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(posted(request))
    context = {
        "form": form,
        "next": next_url,
        "oidc_enabled": settings.OIDC_ENABLED,
        "oidc_provider": settings.OIDC_PROVIDER_NAME,
        "oidc_failed": request.GET.get("oidc") == "echec",
    }
    if request.method != "POST":
        return page(request, "core/auth/login.html", context)
    if not form.is_valid():
        return invalid(request, "core/auth/login.html", context)
    attempt = check_password_attempt(request, form.cleaned_data["email"], form.cleaned_data["password"])
    if attempt.user is None:
        form.add_error(None, attempt.error)
        return page(request, "core/auth/login.html", context, status=attempt.status)
    request.session["signed_in_with"] = "password"
    if has_second_factor(attempt.user):
        return start_second_factor(request, attempt.user, next_url)
    return complete_login(request, attempt.user, None, next_url)


def login_second_factor(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.warning(request, _("Your sign-in took too long. Please start again."))
        return redirect("core:login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("core:login")
    form = SecondFactorForm(posted(request))
    context = {"form": form}
    if request.method != "POST":
        return page(request, "core/auth/second_factor.html", context)
    if not form.is_valid():
        return invalid(request, "core/auth/second_factor.html", context)
    attempt = check_second_factor(request, user, form.cleaned_data["code"])
    if attempt.user is None:
        form.add_error("code", attempt.error)
        return page(request, "core/auth/second_factor.html", context, status=attempt.status)
    return complete_login(request, user, attempt.device, pending["next"])


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    return sign_out(request)


def password_reset(request: HttpRequest) -> HttpResponse:
    """Always the same answer, whether or not the address has an account."""
    form = PasswordResetForm(posted(request))
    context = {"form": form}
    if request.method != "POST":
        return page(request, "core/auth/password_reset.html", context)
    if not form.is_valid():
        return invalid(request, "core/auth/password_reset.html", context)
    email = form.cleaned_data["email"]
    address = client_ip(request)
    verdict = throttle.check("reset", email, address)
    if not verdict.allowed:
        form.add_error(None, throttled_message(verdict))
        return page(request, "core/auth/password_reset.html", context, status=429)
    throttle.fail("reset", email, address)  # every request counts towards the ceiling
    user = User.objects.filter(email__iexact=email).first()
    audit(Actor(None, address), "auth.password_reset_requested", user)
    form.save(request=request, use_https=request.is_secure())
    return redirect("core:password_reset_done")


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return page(request, "core/auth/password_reset_done.html")


class ResetConfirmView(PasswordResetConfirmView):
    """Django's token handling (the token leaves the URL at once); Parvis's password rules.
    Every session of the account ends; the person then signs in again, second factor included."""

    form_class = ResetPasswordForm  # type: ignore[assignment]
    template_name = "core/auth/password_reset_confirm.html"
    success_url = reverse_lazy("core:login")
    token_generator = default_token_generator

    def form_valid(self, form: ResetPasswordForm) -> HttpResponse:  # type: ignore[override]
        assert self.user is not None
        set_password(
            actor_from(self.request),
            self.user,
            form.cleaned_data["new_password2"],
            keep_session=None,
            end_others=True,
        )
        del self.request.session["_password_reset_token"]
        messages.success(self.request, _("Your password has been changed. You can sign in."))
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: ResetPasswordForm) -> HttpResponse:  # type: ignore[override]
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["user"] = kwargs.pop("user")
        return kwargs
