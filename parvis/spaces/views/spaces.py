"""Mes espaces, the directory of spaces, creating spaces, a space's page and settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import actions as core_actions
from parvis.core import policies, registry
from parvis.core.audit import actor_from
from parvis.core.forms import FrequencyForm
from parvis.core.models import Frequency, Organisation, SpacePreference, User
from parvis.core.views.common import invalid, page, posted, refuse
from parvis.spaces import actions
from parvis.spaces.forms import (
    BatchForm,
    CreateSpaceForm,
    JoinRequestForm,
    SpaceForm,
    TabEditForm,
    TabForm,
    TemplateFromSpaceForm,
)
from parvis.spaces.models import JoinRequest, Space, SpaceTab
from parvis.spaces.policies import spaces, tabs, templates


class SecondFactorRequired(PermissionDenied):
    reason = "second_factor"


def get_space(
    request: HttpRequest, org_slug: str, space_slug: str, action: str = "read"
) -> tuple[Organisation, Space]:
    """The access helper of every space view: 404 if not visible, 403 if not allowed, and a
    403 that explains the second factor when the space requires it."""
    org = policies.get_organisation(request.user, org_slug)
    space = policies.get_or_404(
        spaces, request.user, Space.objects.select_related("organisation"), organisation=org, slug=space_slug
    )
    if not spaces.can(request.user, action, space):
        raise PermissionDenied
    if action not in ("view", "leave") and space.require_2fa and not request.user.is_verified():  # type: ignore[union-attr]
        raise SecondFactorRequired
    return org, space


def space_page(
    request: HttpRequest,
    template: str,
    org: Organisation,
    space: Space,
    tab: str,
    context: dict[str, object] | None = None,
    status: int = 200,
) -> HttpResponse:
    """A page inside a space: its menu (tools switched on, manager entries) and abilities."""
    return page(
        request,
        template,
        {
            "space": space,
            "tab": tab,
            "tools": registry.enabled(space),
            "abilities": spaces.abilities(request.user, space),
            **(context or {}),
        },
        status=status,
        organisation=org,
    )


def my_space_ids(user: User, org: Organisation) -> QuerySet[Space]:
    """The spaces she belongs to: her own memberships and her groups'."""
    return (
        spaces.visible(user)
        .filter(organisation=org)
        .filter(Q(memberships__user=user) | Q(group_grants__group__members=user))
        .distinct()
    )


@login_required
def my_spaces(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    user_tabs = tabs.visible(request.user).filter(organisation=org)
    mine = my_space_ids(request.user, org)  # type: ignore[arg-type]
    selected = None
    tab_param = request.GET.get("onglet", "")
    if tab_param == "archives":
        listed = mine.filter(archived_at__isnull=False)
    else:
        listed = mine.filter(archived_at__isnull=True)
        if tab_param.isdigit():
            selected = user_tabs.filter(pk=int(tab_param)).first()
            if selected is not None:
                listed = listed.filter(pk__in=selected.spaces.values("pk"))
    return page(
        request,
        "spaces/my_spaces.html",
        {
            "tabs": user_tabs,
            "selected_tab": selected,
            "archives": tab_param == "archives",
            "spaces": listed.order_by("-last_activity_at", "name"),
        },
        organisation=org,
    )


@login_required
def directory(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    visible = spaces.visible(request.user).filter(organisation=org, archived_at__isnull=True)
    mine = set(my_space_ids(request.user, org).values_list("pk", flat=True))  # type: ignore[arg-type]
    pending = set(
        JoinRequest.objects.filter(user=request.user, status=JoinRequest.Status.PENDING).values_list(
            "space_id", flat=True
        )
    )
    rows = [
        {
            "space": s,
            "member": s.pk in mine,
            "pending": s.pk in pending,
            "abilities": spaces.abilities(request.user, s),
        }
        for s in visible.order_by("name")
    ]
    return page(request, "spaces/directory.html", {"rows": rows}, organisation=org)


def _templates_for(user: User) -> QuerySet:  # type: ignore[type-arg]
    """Templates of every organisation she administers: a template made in one can serve in
    another."""
    return templates.visible(user).order_by("organisation__name", "name")


@login_required
def space_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "create_space")
    form = CreateSpaceForm(_templates_for(request.user), posted(request))  # type: ignore[arg-type]
    context = {"form": form, "tools_available": bool(registry.all_tools())}
    if request.method != "POST":
        return page(request, "spaces/space_create.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/space_create.html", context, organisation=org)
    space = actions.create_space(actor_from(request), org, **form.values())
    messages.success(request, _("The space “%(name)s” has been created.") % {"name": space.name})
    return redirect("spaces:detail", org.slug, space.slug)


@login_required
def space_batch(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Create many spaces from one template: the 17 commissions in one go."""
    org = policies.get_organisation(request.user, org_slug, "create_space")
    form = BatchForm(_templates_for(request.user), posted(request))  # type: ignore[arg-type]
    if request.method != "POST":
        return page(request, "spaces/space_batch.html", {"form": form}, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/space_batch.html", {"form": form}, organisation=org)
    created = actions.create_spaces_from_template(
        actor_from(request), org, form.cleaned_data["template"], form.cleaned_data["names"]
    )
    messages.success(request, _("%(count)d spaces have been created.") % {"count": len(created)})
    return redirect("spaces:my_spaces", org.slug)


@login_required
def space_detail(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "view")
    abilities = spaces.abilities(request.user, space)
    if not abilities["read"]:
        return _outside_page(request, org, space, JoinRequestForm())
    if space.require_2fa and not request.user.is_verified():  # type: ignore[union-attr]
        raise SecondFactorRequired
    frequency = (
        SpacePreference.objects.filter(user=request.user, space=space)
        .values_list("frequency", flat=True)
        .first()
        or org.default_frequency
    )
    return space_page(
        request,
        "spaces/space_detail.html",
        org,
        space,
        "home",
        {
            "member_count": space.memberships.count(),
            "frequency_form": FrequencyForm(initial={"frequency": frequency}),
            "pending_requests": space.join_requests.filter(status=JoinRequest.Status.PENDING).count()
            if abilities["manage"]
            else 0,
        },
    )


def _outside_page(
    request: HttpRequest, org: Organisation, space: Space, form: JoinRequestForm, status: int = 200
) -> HttpResponse:
    """A space she may see but not read: join it, or ask to."""
    pending = JoinRequest.objects.filter(
        space=space, user=request.user, status=JoinRequest.Status.PENDING
    ).exists()
    return page(
        request,
        "spaces/space_outside.html",
        {
            "space": space,
            "abilities": spaces.abilities(request.user, space),
            "pending": pending,
            "form": form,
        },
        status=status,
        organisation=org,
    )


def _settings_page(
    request: HttpRequest,
    org: Organisation,
    space: Space,
    form: SpaceForm,
    template_form: TemplateFromSpaceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "tools_available": bool(registry.all_tools()),
        "can_template": policies.organisations.can(request.user, "administer", org),
        "template_form": template_form or TemplateFromSpaceForm(initial={"name": space.name}),
    }
    return space_page(request, "spaces/space_settings.html", org, space, "settings", context, status=status)


@login_required
def space_settings(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    form = SpaceForm(posted(request), instance=Space.objects.get(pk=space.pk))
    if request.method != "POST":
        return _settings_page(request, org, space, form)
    if not form.is_valid():
        return _settings_page(request, org, space, form, status=400)
    actions.update_space(actor_from(request), space, **form.cleaned_data)
    messages.success(request, _("The settings of the space have been saved."))
    return redirect("spaces:settings", org.slug, space.slug)


@login_required
@require_POST
def space_archive(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    if request.POST.get("archive") not in ("0", "1"):
        back = reverse("spaces:settings", args=[org.slug, space.slug])
        return refuse(
            request,
            org,
            _("The request sent to Parvis is not valid. Go back and try again."),
            back,
            _("Settings"),
        )
    archive = request.POST.get("archive") == "1"
    actions.set_archived(actor_from(request), space, archive)
    messages.success(
        request, _("The space has been archived.") if archive else _("The space is active again.")
    )
    return redirect("spaces:detail", org.slug, space.slug)


@login_required
@require_POST
def space_save_template(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "manage")
    policies.require(policies.organisations, request.user, "administer", org)
    form = TemplateFromSpaceForm(request.POST)
    if not form.is_valid():
        settings_form = SpaceForm(instance=Space.objects.get(pk=space.pk))
        return _settings_page(request, org, space, settings_form, template_form=form, status=400)
    template = actions.template_from_space(actor_from(request), space, form.cleaned_data["name"])
    messages.success(request, _("The template “%(name)s” has been created.") % {"name": template.name})
    return redirect("spaces:templates", org.slug)


@login_required
@require_POST
def space_join(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "view")
    actor = actor_from(request)
    if spaces.can(request.user, "join", space):
        actions.join_space(actor, space)
        messages.success(request, _("You have joined “%(name)s”.") % {"name": space.name})
    elif spaces.can(request.user, "request", space):
        form = JoinRequestForm(request.POST)
        if not form.is_valid():
            return _outside_page(request, org, space, form, status=400)
        actions.request_to_join(actor, space, form.cleaned_data["message"])
        messages.success(request, _("Your request has been sent to the facilitators."))
    else:
        raise PermissionDenied
    return redirect("spaces:detail", org.slug, space.slug)


@login_required
@require_POST
def space_leave(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "leave")
    actions.leave_space(actor_from(request), space)
    messages.success(request, _("You have left “%(name)s”.") % {"name": space.name})
    return redirect("spaces:my_spaces", org.slug)


@login_required
@require_POST
def space_frequency(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = get_space(request, org_slug, space_slug, "read")
    form = FrequencyForm(request.POST)
    if not form.is_valid():
        message = _("Choose one of the proposed frequencies.")
        return refuse(request, org, message, actions.space_url(space), space.name)
    core_actions.set_space_frequency(
        actor_from(request),
        request.user,
        space.pk,  # type: ignore[arg-type]
        form.cleaned_data["frequency"],
    )
    messages.success(
        request,
        _("You will hear of this space: %(choice)s.")
        % {"choice": Frequency(form.cleaned_data["frequency"]).label.lower()},
    )
    return redirect("spaces:detail", org.slug, space.slug)


# --- Tabs of Mes espaces ------------------------------------------------------------------------


@login_required
def tab_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    form = TabForm(posted(request))
    context = {"form": form, "tabs": tabs.visible(request.user).filter(organisation=org)}
    if request.method != "POST":
        return page(request, "spaces/tabs.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/tabs.html", context, organisation=org)
    tab = actions.create_tab(actor_from(request), org, form.cleaned_data["name"])
    return redirect("spaces:tab", org.slug, tab.pk)


def _get_tab(request: HttpRequest, org: Organisation, pk: int) -> SpaceTab:
    return policies.get_or_404(tabs, request.user, organisation=org, pk=pk)


@login_required
def tab_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    tab = _get_tab(request, org, pk)
    mine = my_space_ids(request.user, org).order_by("name")  # type: ignore[arg-type]
    form = TabEditForm(mine, posted(request), initial={"name": tab.name, "spaces": list(tab.spaces.all())})
    context = {"form": form, "tab": tab}
    if request.method != "POST":
        return page(request, "spaces/tab_edit.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "spaces/tab_edit.html", context, organisation=org)
    actions.update_tab(actor_from(request), tab, form.cleaned_data["name"], list(form.cleaned_data["spaces"]))
    messages.success(request, _("The tab “%(name)s” has been saved.") % {"name": tab.name})
    return redirect(f"/o/{org.slug}/?onglet={tab.pk}")


@login_required
@require_POST
def tab_move(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    tab = _get_tab(request, org, pk)
    if request.POST.get("direction") not in ("up", "down"):
        return refuse(
            request,
            org,
            _("The request sent to Parvis is not valid. Go back and try again."),
            reverse("spaces:tabs", args=[org.slug]),
            _("Back to my tabs"),
        )
    offset = -1 if request.POST.get("direction") == "up" else 1
    actions.move_tab(actor_from(request), tab, offset)
    return redirect("spaces:tabs", org.slug)


@login_required
@require_POST
def tab_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    tab = _get_tab(request, org, pk)
    actions.delete_tab(actor_from(request), tab)
    messages.success(request, _("The tab “%(name)s” has been deleted.") % {"name": tab.name})
    return redirect("spaces:tabs", org.slug)
