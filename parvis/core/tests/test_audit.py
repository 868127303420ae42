"""The journal d'activité: every write logged once (who, what, object, when, address); nothing
can change or delete it; the organisation's administrator browses, filters and exports it."""

import csv
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import french
from parvis.core import actions as core
from parvis.core.audit import Actor, audit
from parvis.core.auth import create_app_password, revoke_app_password
from parvis.core.models import AuditEvent, AuditLogIsAppendOnly
from parvis.spaces import actions as spaces
from parvis.spaces.models import Role, SpaceMembership, SpaceTab

IP = "203.0.113.10"


@pytest.fixture
def event(world):
    return audit(Actor(world.secretaire, IP), "test.event", world.council, organisation=world.org)


def test_an_event_cannot_be_changed_or_deleted_through_the_models(event):
    event.action = "autre.chose"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET action = 'effacé' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ],
)
def test_the_database_itself_refuses_to_change_or_delete_an_event(event, statement):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_database_refuses_to_truncate_the_journal_on_postgresql(event):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE core_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def _one_event(action: str, **expected):  # type: ignore[no-untyped-def]
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, f"{action}: {len(events)} events"
    for field, value in expected.items():
        assert getattr(events[0], field) == value, (action, field)
    return events[0]


def test_each_named_action_writes_exactly_one_event_with_who_what_where(world):
    admin = Actor(world.secretaire, IP)
    org = world.org
    space = spaces.create_space(admin, org, name="Commission Voirie")
    spaces.update_space(admin, space, visibility="organisation")
    spaces.set_archived(admin, space, True)
    membership = spaces.add_space_member(admin, world.council, world.agent_rh, Role.READER)
    spaces.set_space_role(admin, membership, Role.CONTRIBUTOR)
    spaces.remove_space_member(admin, SpaceMembership.objects.get(pk=membership.pk))
    group = core.create_group(admin, org, "Services techniques")
    core.update_group(admin, group, "Services techniques", "Voirie, bâtiments")
    core.set_group_members(admin, group, [world.agent_rh])
    code, secret = spaces.create_access_code(
        admin,
        world.ecole,
        role=Role.READER,
        max_uses=3,
        expires_at=timezone.now() + timezone.timedelta(days=2),
    )
    spaces.revoke_access_code(admin, code)
    template = spaces.save_template(admin, org, name="Projet", kind="project")
    tab = spaces.create_tab(Actor(world.elu, IP), org, "Commissions")
    spaces.move_tab(Actor(world.elu, IP), SpaceTab.objects.get(pk=tab.pk), 1)
    app_password, app_secret = create_app_password(Actor(world.elu, IP), world.elu, "Portable")
    revoke_app_password(Actor(world.elu, IP), app_password)
    core.update_profile(Actor(world.elu, IP), world.elu, "Paul Durand-Martin")
    spaces.delete_template(admin, template)
    core.delete_group(admin, group)

    for action in (
        "space.create",
        "space.update",
        "space.archive",
        "space.member_role",
        "space.member_remove",
        "group.create",
        "group.update",
        "group.members",
        "access_code.create",
        "access_code.revoke",
        "template.create",
        "template.delete",
        "group.delete",
    ):
        _one_event(
            action, actor=world.secretaire, actor_label=world.secretaire.email, organisation_id=org.pk, ip=IP
        )
    for action in (
        "tab.create",
        "tab.move",
        "account.app_password_created",
        "account.app_password_revoked",
        "account.update",
    ):
        _one_event(action, actor=world.elu, ip=IP)
    created = AuditEvent.objects.get(action="space.create")
    assert created.object_type == "spaces.space"
    assert created.object_id == str(space.pk)
    assert created.object_label == "Commission Voirie"
    assert created.at <= timezone.now()
    # The creator becomes facilitator within space.create; adding someone is its own event.
    _one_event("space.member_add", actor=world.secretaire, object_id=str(membership.pk))
    everything = " ".join(str(e.data) + e.object_label for e in AuditEvent.objects.all())
    assert secret.replace("-", "") not in everything.replace("-", "")
    assert app_secret not in everything


def test_the_administrator_browses_and_filters_the_journal(world, client_for):
    admin = Actor(world.secretaire, IP)
    spaces.create_space(admin, world.org, name="Commission Jeunesse")
    core.create_group(admin, world.org, "Élus de quartier")
    audit(Actor(world.inconnu, IP), "space.create", world.other_space, organisation=world.other)
    client = client_for("secretaire")
    url = reverse("core:admin_audit", args=[world.org.slug])
    page = client.get(url).content.decode()
    assert "Commission Jeunesse" in page
    assert "Élus de quartier" in page
    assert "Conseil de Val-de-Brume" not in page  # another commune's journal
    filtered = client.get(url, {"action": "group."}).content.decode()
    assert "Élus de quartier" in filtered
    assert "Commission Jeunesse" not in filtered
    bad = client.get(url, {"start": "2026-12-31", "end": "2026-01-01"})
    assert bad.status_code == 400
    assert french("The start date is after the end date.") in bad.content.decode()
    assert client_for("maire").get(url).status_code == 403


def test_the_journal_exports_as_csv_with_formulas_neutralised(world, client_for):
    admin = Actor(world.secretaire, IP)
    spaces.create_space(admin, world.org, name='=HYPERLINK("http://exemple")')
    response = client_for("secretaire").get(reverse("core:admin_audit_csv", args=[world.org.slug]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="journal-saint-aubin-')
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == french("Date")
    labels = [row[5] for row in rows[1:]]
    assert '\'=HYPERLINK("http://exemple")' in labels
    assert not any(label.startswith("=") for label in labels)
    assert AuditEvent.objects.filter(action="audit.export", actor=world.secretaire).count() == 1


def test_no_page_lets_anyone_edit_or_delete_the_journal(world, client_for):
    client = client_for("secretaire")
    url = reverse("core:admin_audit", args=[world.org.slug])
    before = AuditEvent.objects.count()
    client.post(url, {"action": "x"})
    assert AuditEvent.objects.count() == before
    names = {p.name for p in __import__("parvis.core.urls", fromlist=["urlpatterns"]).urlpatterns}
    assert {n for n in names if "audit" in n} == {"admin_audit", "admin_audit_csv"}


def test_a_failed_sign_in_is_logged_without_what_was_typed(world):
    Client().post(
        reverse("core:login"), {"email": world.elu.email, "password": "Secret-tapé-2026"}, REMOTE_ADDR=IP
    )
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.ip == IP
    assert event.object_id == str(world.elu.pk)
    assert "Secret-tapé" not in str(event.data) + event.object_label
