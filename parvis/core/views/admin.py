"""Administration of one organisation (secrétaire de mairie): members, groups, the journal
d'activité and the notification defaults. Also the members' directory."""

import csv
import datetime
from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from parvis.core import actions, policies
from parvis.core.audit import actor_from, audit
from parvis.core.forms import AuditFilterForm, GroupForm, MemberForm, OrgDefaultsForm
from parvis.core.models import AuditEvent, Organisation, OrgMembership
from parvis.core.views.common import invalid, page, posted

ADMIN = "administer"


def _admin_org(request: HttpRequest, org_slug: str) -> Organisation:
    return policies.get_organisation(request.user, org_slug, ADMIN)


# --- Directory (members) ------------------------------------------------------------------------


@login_required
def directory(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug, "see_directory")
    people = (
        policies.members.visible(request.user)
        .filter(organisation=org, is_active=True)
        .exclude(role=OrgMembership.Role.GUEST)
        .select_related("user")
        .order_by("user__full_name")
    )
    return page(request, "core/directory.html", {"people": people}, organisation=org)


# --- Members ------------------------------------------------------------------------------------


@login_required
def member_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    members = policies.members.visible(request.user).filter(organisation=org).select_related("user")
    query = request.GET.get("q", "").strip()[:100]
    if query:
        members = members.filter(user__full_name__icontains=query) | members.filter(
            user__email__icontains=query
        )
    status = request.GET.get("statut", "")
    if status == "inactifs":
        members = members.filter(is_active=False)
    elif status != "tous":
        members = members.filter(is_active=True)
    return page(
        request,
        "core/admin/members.html",
        {
            "members": members.order_by("user__full_name"),
            "query": query,
            "status": status,
            "section": "members",
        },
        organisation=org,
    )


@login_required
def member_edit(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _admin_org(request, org_slug)
    membership = policies.get_or_404(policies.members, request.user, organisation=org, pk=pk)
    abilities = policies.members.abilities(request.user, membership)
    form = MemberForm(
        posted(request), instance=OrgMembership(role=membership.role, qualite=membership.qualite)
    )
    context = {"membership": membership, "form": form, "abilities": abilities, "section": "members"}
    if request.method != "POST":
        return page(request, "core/admin/member_edit.html", context, organisation=org)
    policies.require(policies.members, request.user, "manage", membership)
    if not form.is_valid():
        return invalid(request, "core/admin/member_edit.html", context, organisation=org)
    actions.update_member(
        actor_from(request), membership, form.cleaned_data["role"], form.cleaned_data["qualite"]
    )
    messages.success(request, _("Changes saved for %(name)s.") % {"name": membership.user})
    return redirect("core:admin_members", org.slug)


@login_required
@require_POST
def member_set_active(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _admin_org(request, org_slug)
    membership = policies.get_or_404(policies.members, request.user, organisation=org, pk=pk)
    policies.require(policies.members, request.user, "manage", membership)
    active = request.POST.get("active") == "1"
    actions.set_member_active(actor_from(request), membership, active)
    if active:
        messages.success(request, _("%(name)s is active again.") % {"name": membership.user})
    else:
        messages.success(
            request,
            _("%(name)s has been deactivated; her sessions and connections to this organisation have ended.")
            % {"name": membership.user},
        )
    return redirect("core:admin_members", org.slug)


# --- Groups -------------------------------------------------------------------------------------


@login_required
def group_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    groups = policies.groups.visible(request.user).filter(organisation=org).prefetch_related("members")
    return page(request, "core/admin/groups.html", {"groups": groups, "section": "groups"}, organisation=org)


@login_required
def group_edit(request: HttpRequest, org_slug: str, pk: int | None = None) -> HttpResponse:
    org = _admin_org(request, org_slug)
    group = None
    if pk is not None:
        group = policies.get_or_404(policies.groups, request.user, organisation=org, pk=pk)
    form = GroupForm(org, posted(request), instance=group)
    context = {"form": form, "group": group, "section": "groups"}
    if request.method != "POST":
        return page(request, "core/admin/group_edit.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "core/admin/group_edit.html", context, organisation=org)
    actor = actor_from(request)
    name, description = form.cleaned_data["name"], form.cleaned_data["description"]
    if group is None:
        group = actions.create_group(actor, org, name, description)
    else:
        actions.update_group(actor, group, name, description)
    actions.set_group_members(actor, group, list(form.cleaned_data["members"]))
    messages.success(request, _("The group “%(name)s” has been saved.") % {"name": group.name})
    return redirect("core:admin_groups", org.slug)


@login_required
@require_POST
def group_delete(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = _admin_org(request, org_slug)
    group = policies.get_or_404(policies.groups, request.user, organisation=org, pk=pk)
    actions.delete_group(actor_from(request), group)
    messages.success(request, _("The group “%(name)s” has been deleted.") % {"name": group.name})
    return redirect("core:admin_groups", org.slug)


# --- Journal d'activité -------------------------------------------------------------------------


def _filtered_events(request: HttpRequest, org: Organisation) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET or None)
    events = policies.audit_events.visible(request.user).filter(organisation=org)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action__icontains=data["action"])
        if data["actor"]:
            events = events.filter(actor_label__icontains=data["actor"])
        tz = timezone.get_current_timezone()
        if data["start"]:
            events = events.filter(at__gte=datetime.datetime.combine(data["start"], datetime.time.min, tz))
        if data["end"]:
            events = events.filter(at__lte=datetime.datetime.combine(data["end"], datetime.time.max, tz))
    return form, events


@login_required
def audit_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form, events = _filtered_events(request, org)
    current = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return page(
        request,
        "core/admin/audit.html",
        {"form": form, "page": current, "query": query.urlencode(), "section": "audit"},
        status=status,
        organisation=org,
    )


CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (ASVS 1.2.10): a cell never starts with = + - @."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_DANGEROUS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_export(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The journal as CSV (UTF-8 with BOM, semicolons: what a French spreadsheet opens)."""
    org = _admin_org(request, org_slug)
    form, events = _filtered_events(request, org)
    if form.is_bound and not form.is_valid():
        return page(
            request,
            "core/admin/audit.html",
            {"form": form, "page": None, "query": "", "section": "audit"},
            status=400,
            organisation=org,
        )
    audit(actor_from(request), "audit.export", org, organisation=org)
    writer = csv.writer(_Echo(), delimiter=";")
    header = [
        _("Date"),
        _("Author"),
        _("Action"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Address"),
        _("Details"),
    ]

    def rows() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for event in events.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    csv_cell(v)
                    for v in (
                        timezone.localtime(event.at).isoformat(timespec="seconds"),
                        event.actor_label,
                        event.action,
                        event.object_type,
                        event.object_id,
                        event.object_label,
                        event.ip,
                        event.data,
                    )
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="journal-{org.slug}-{stamp}.csv"'
    return response


# --- Notification defaults ----------------------------------------------------------------------


@login_required
def notification_defaults(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = _admin_org(request, org_slug)
    form = OrgDefaultsForm(posted(request), instance=Organisation.objects.get(pk=org.pk))
    context = {"form": form, "section": "notifications"}
    if request.method != "POST":
        return page(request, "core/admin/notification_defaults.html", context, organisation=org)
    if not form.is_valid():
        return invalid(request, "core/admin/notification_defaults.html", context, organisation=org)
    fields = {f: form.cleaned_data[f] for f in OrgDefaultsForm.Meta.fields}
    actions.update_notification_defaults(actor_from(request), org, **fields)
    messages.success(request, _("The notification defaults have been saved."))
    return redirect("core:admin_notifications", org.slug)
