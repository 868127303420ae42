"""Notifications with a budget: the in-app centre, e-mail at the pace each person chose per space,
quiet hours and weekends off by default, the organisation's defaults, the monthly counter, and
digests built and sent once per period.

Time never passes in these tests: each notification gets an explicit `created_at` and
`notify.deliver(now)` is called with an explicit `now` (Europe/Paris), as the scheduler would
call it every minute. The reference week is Monday 10 to Monday 17 March 2025 (no DST change).
"""

import datetime
import json
from collections.abc import Callable
from email.header import decode_header, make_header
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from conftest import french
from parvis.core import notify, scheduler
from parvis.core.audit import Actor
from parvis.core.models import (
    Frequency,
    Notification,
    NotificationSettings,
    Organisation,
    OrgMembership,
    OutgoingEmail,
    ScheduledRun,
    User,
)
from parvis.core.tests.factories import World, make_org
from parvis.spaces import actions as space_actions
from parvis.spaces.models import Role, Space
from tests.support.smtp import SmtpSink

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime.date(2025, 3, 10)
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "lundi+7")


def at(day: str, hhmm: str) -> datetime.datetime:
    """`at("mardi", "22:00")`: a moment of the reference week, Paris time."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    date = MONDAY + datetime.timedelta(days=DAYS.index(day))
    return datetime.datetime.combine(date, datetime.time(hours, minutes), tzinfo=PARIS)


def ping(world: World, who: User, space: Space, when: datetime.datetime, title: str = "") -> Notification:
    """Something happened in `space` at `when` that `who` should hear of."""
    [created] = notify.notify(
        [who],
        organisation=world.org,
        kind="test.event",
        title=title or f"Événement du {when:%d/%m %H:%M}",
        url=space_actions.space_url(space),
        space_id=space.pk,
    )
    Notification.objects.filter(pk=created.pk).update(created_at=when)
    created.refresh_from_db()
    return created


def inbox(user: User) -> list[Any]:
    return [m for m in mail.outbox if m.to == [user.email]]


def deliver(when: datetime.datetime) -> None:
    notify.deliver(when)


def choose(client: Client, space: Space, frequency: str) -> None:
    """She picks a pace on the space's page."""
    response = client.post(
        reverse("spaces:frequency", args=[space.organisation.slug, space.slug]), {"frequency": frequency}
    )
    assert response.status_code == 302


def one_of_each(*notifications: Notification) -> None:
    """Nothing lost, nothing doubled: every notification sits in exactly one e-mail."""
    for n in notifications:
        n.refresh_from_db()
        assert n.email_state == Notification.EmailState.QUEUED, n.title
        assert n.email is not None


# --- Per-space frequency ------------------------------------------------------------------------


def test_immediately_sends_one_email_at_the_next_delivery(world, client_for):
    choose(client_for("elu"), world.council, Frequency.IMMEDIATE)
    n = ping(world, world.elu, world.council, at("mardi", "10:00"), "Ordre du jour publié")
    deliver(at("mardi", "10:00"))
    [email] = inbox(world.elu)
    assert email.subject == "Ordre du jour publié"
    assert "Ordre du jour publié" in email.body
    assert settings.SITE_URL + "/" in email.body
    deliver(at("mardi", "10:01"))
    deliver(at("mercredi", "08:00"))
    assert len(inbox(world.elu)) == 1
    one_of_each(n)
    assert inbox(world.maire) == []


def test_several_waiting_immediate_notifications_are_grouped_into_one_email(world, client_for):
    choose(client_for("elu"), world.council, Frequency.IMMEDIATE)
    items = [
        ping(world, world.elu, world.council, at("mardi", hhmm), f"Point {i}")
        for i, hhmm in enumerate(["19:30", "21:00", "23:45"], 1)
    ]
    for hhmm in ("19:30", "21:00", "23:45"):
        deliver(at("mardi", hhmm))
    deliver(at("mercredi", "07:59"))
    assert inbox(world.elu) == []
    deliver(at("mercredi", "08:00"))
    [email] = inbox(world.elu)
    assert email.subject == french("%(count)d new notifications on Parvis", count=3)
    for i in (1, 2, 3):
        assert f"Point {i}" in email.body
    one_of_each(*items)


def test_daily_digest_goes_out_when_quiet_hours_end_with_everything_before(world):
    # Daily is the organisation's default: elu chose nothing.
    assert world.org.default_frequency == Frequency.DAILY
    items = [
        ping(world, world.elu, world.council, at("mardi", "09:00"), "Premier"),
        ping(world, world.elu, world.commission, at("mardi", "18:00"), "Deuxième"),
        ping(world, world.elu, world.council, at("mercredi", "02:00"), "Troisième"),
    ]
    for moment in (at("mardi", "09:01"), at("mardi", "18:30"), at("mercredi", "07:59")):
        deliver(moment)
    assert inbox(world.elu) == []
    deliver(at("mercredi", "08:00"))
    [digest] = inbox(world.elu)
    assert digest.subject == french("Your daily Parvis digest")
    for title in ("Premier", "Deuxième", "Troisième", "Conseil municipal", "Commission Finances"):
        assert title in digest.body
    one_of_each(*items)
    assert OutgoingEmail.objects.get(recipient=world.elu).key == f"daily:{world.elu.pk}:2025-03-12"


def test_weekly_digest_goes_out_on_monday_morning(world, client_for):
    choose(client_for("elu"), world.commission, Frequency.WEEKLY)
    items = [
        ping(world, world.elu, world.commission, at("mardi", "11:00"), "Budget"),
        ping(world, world.elu, world.commission, at("jeudi", "15:00"), "Subventions"),
        ping(world, world.elu, world.commission, at("samedi", "10:00"), "Compte rendu"),
    ]
    for day in DAYS[1:7]:
        for hhmm in ("08:00", "12:00", "18:59"):
            deliver(at(day, hhmm))
    deliver(at("lundi+7", "07:59"))
    assert inbox(world.elu) == []
    deliver(at("lundi+7", "08:00"))
    [digest] = inbox(world.elu)
    assert digest.subject == french("Your weekly Parvis digest")
    for title in ("Budget", "Subventions", "Compte rendu"):
        assert title in digest.body
    one_of_each(*items)
    assert OutgoingEmail.objects.get(recipient=world.elu).key == f"weekly:{world.elu.pk}:2025-W12"


def test_never_means_in_app_only(world, client_for):
    client = client_for("elu")
    choose(client, world.council, Frequency.NEVER)
    n = ping(world, world.elu, world.council, at("mardi", "10:00"), "Séance reportée")
    for day in DAYS:
        deliver(at(day, "08:00"))
        deliver(at(day, "12:00"))
    assert inbox(world.elu) == []
    n.refresh_from_db()
    assert n.email_state == Notification.EmailState.SKIPPED
    assert "Séance reportée" in client.get("/notifications/").content.decode()


def test_changing_a_space_to_immediate_sends_what_was_waiting_for_the_digest(world, client_for):
    waiting = [
        ping(world, world.elu, world.council, at("mardi", "09:00"), "Premier point"),
        ping(world, world.elu, world.council, at("mardi", "10:00"), "Second point"),
    ]
    other_space = ping(world, world.elu, world.commission, at("mardi", "10:30"), "Ailleurs")
    deliver(at("mardi", "11:00"))
    assert inbox(world.elu) == []
    choose(client_for("elu"), world.council, Frequency.IMMEDIATE)
    deliver(at("mardi", "11:01"))
    [email] = inbox(world.elu)
    assert "Premier point" in email.body
    assert "Second point" in email.body
    assert "Ailleurs" not in email.body
    one_of_each(*waiting)
    deliver(at("mercredi", "08:00"))  # the commission keeps its daily digest
    assert "Ailleurs" in inbox(world.elu)[1].body
    one_of_each(other_space)


def test_changing_a_space_to_weekly_or_never_moves_what_was_waiting(world, client_for):
    client = client_for("elu")
    choose(client, world.council, Frequency.IMMEDIATE)
    choose(client, world.commission, Frequency.IMMEDIATE)
    late = ping(world, world.elu, world.council, at("mardi", "22:00"), "Tard le soir")
    muted = ping(world, world.elu, world.commission, at("mardi", "22:05"), "Sans intérêt")
    choose(client, world.council, Frequency.WEEKLY)
    choose(client, world.commission, Frequency.NEVER)
    for day in DAYS[2:7]:
        deliver(at(day, "08:00"))
    assert inbox(world.elu) == []
    deliver(at("lundi+7", "08:00"))
    [digest] = inbox(world.elu)
    assert digest.subject == french("Your weekly Parvis digest")
    assert "Tard le soir" in digest.body
    assert "Sans intérêt" not in digest.body
    one_of_each(late)
    muted.refresh_from_db()
    assert muted.email_state == Notification.EmailState.SKIPPED
    assert muted.frequency == Frequency.NEVER


def test_the_frequency_form_refuses_an_unknown_choice_and_a_space_one_cannot_see(world, client_for):
    client = client_for("elu")
    response = client.post(
        reverse("spaces:frequency", args=["saint-aubin", "conseil"]), {"frequency": "toutes-les-heures"}
    )
    assert response.status_code == 400
    assert french("Choose one of the proposed frequencies.") in response.content.decode()
    assert not world.elu.space_preferences.exists()
    hidden = client_for("inconnu").post(
        reverse("spaces:frequency", args=["saint-aubin", "finances"]), {"frequency": Frequency.NEVER}
    )
    assert hidden.status_code == 404


# --- Quiet hours and weekends off ---------------------------------------------------------------


def test_quiet_hours_and_weekends_off_are_on_by_default(world, client_for):
    fresh = Organisation.objects.get(pk=make_org().pk)
    assert fresh.quiet_hours_enabled is True
    assert (fresh.quiet_start, fresh.quiet_end) == (datetime.time(19, 0), datetime.time(8, 0))
    assert fresh.weekends_off is True
    budget = notify.budget_for(world.elu)
    assert budget == notify.Budget(True, datetime.time(19, 0), datetime.time(8, 0), True)
    page = client_for("elu").get(reverse("core:notification_settings")).content.decode()
    assert french("no e-mail between %(start)s and %(end)s", start="19:00", end="08:00") in page
    assert french("no e-mail at weekends.") in page


def test_an_immediate_notification_at_22h_waits_until_8h_the_next_working_day(world, client_for):
    choose(client_for("elu"), world.council, Frequency.IMMEDIATE)
    ping(world, world.elu, world.council, at("mardi", "22:00"), "Mardi soir")
    deliver(at("mardi", "22:00"))
    deliver(at("mercredi", "07:59"))
    assert inbox(world.elu) == []
    deliver(at("mercredi", "08:00"))
    assert [m.subject for m in inbox(world.elu)] == ["Mardi soir"]

    ping(world, world.elu, world.council, at("vendredi", "22:00"), "Vendredi soir")
    ping(world, world.elu, world.council, at("samedi", "11:00"), "Samedi matin")
    for moment in (
        at("samedi", "08:00"),
        at("samedi", "11:00"),
        at("dimanche", "15:00"),
        at("lundi+7", "07:59"),
    ):
        deliver(moment)
    assert len(inbox(world.elu)) == 1
    deliver(at("lundi+7", "08:00"))
    assert len(inbox(world.elu)) == 2
    assert "Vendredi soir" in inbox(world.elu)[1].body
    assert "Samedi matin" in inbox(world.elu)[1].body


def test_on_saturday_a_daily_digest_waits_until_monday_8h(world):
    ping(world, world.elu, world.council, at("vendredi", "20:00"), "Vendredi")
    ping(world, world.elu, world.council, at("samedi", "10:00"), "Samedi")
    for moment in (
        at("samedi", "08:00"),
        at("dimanche", "08:00"),
        at("dimanche", "23:59"),
        at("lundi+7", "07:59"),
    ):
        deliver(moment)
    assert inbox(world.elu) == []
    deliver(at("lundi+7", "08:00"))
    [digest] = inbox(world.elu)
    assert "Vendredi" in digest.body
    assert "Samedi" in digest.body


def test_someone_who_turns_quiet_hours_off_gets_it_at_once(world, client_for):
    client = client_for("elu")
    choose(client, world.council, Frequency.IMMEDIATE)
    response = client.post(
        reverse("core:notification_settings"),
        {"quiet_hours_enabled": "no", "quiet_start": "", "quiet_end": "", "weekends_off": ""},
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=world.elu).quiet_hours_enabled is False
    ping(world, world.elu, world.council, at("mardi", "22:00"), "Alerte crue")
    deliver(at("mardi", "22:00"))
    assert [m.subject for m in inbox(world.elu)] == ["Alerte crue"]
    # She kept her weekends: on Saturday it still waits.
    ping(world, world.elu, world.council, at("samedi", "10:00"), "Samedi")
    deliver(at("samedi", "10:00"))
    assert len(inbox(world.elu)) == 1
    # The maire did not change anything: her 22:00 notification waits.
    ping(world, world.maire, world.council, at("mardi", "22:00"), "Pour la maire")
    choose(client_for("maire"), world.council, Frequency.IMMEDIATE)
    deliver(at("mardi", "22:01"))
    assert inbox(world.maire) == []


def test_the_admins_defaults_apply_to_whoever_did_not_choose(world, client_for):
    # The maire chose her own quiet hours; elu and agent_rh follow the organisation.
    NotificationSettings.objects.create(
        user=world.maire, quiet_hours_enabled=True, quiet_start=datetime.time(20), quiet_end=datetime.time(9)
    )
    response = client_for("secretaire").post(
        reverse("core:admin_notifications", args=["saint-aubin"]),
        {
            "default_frequency": Frequency.IMMEDIATE,
            "quiet_hours_enabled": "on",
            "quiet_start": "21:00",
            "quiet_end": "07:00",
            # weekends_off unticked
        },
    )
    assert response.status_code == 302
    world.org.refresh_from_db()
    assert (world.org.quiet_end, world.org.weekends_off) == (datetime.time(7), False)
    page = client_for("elu").get(reverse("core:notification_settings")).content.decode()
    assert french("no e-mail between %(start)s and %(end)s", start="21:00", end="07:00") in page
    assert french("e-mails at weekends too.") in page
    # New notifications of people without a choice follow the new default pace (immediately).
    ping(world, world.elu, world.council, at("mardi", "20:30"), "Avant 21 h")
    ping(world, world.maire, world.council, at("mardi", "20:30"), "Pour la maire")
    deliver(at("mardi", "20:30"))
    assert [m.subject for m in inbox(world.elu)] == ["Avant 21 h"]
    assert inbox(world.maire) == []  # her own quiet hours start at 20:00
    ping(world, world.elu, world.council, at("mardi", "22:00"), "Après 21 h")
    deliver(at("mercredi", "06:59"))
    assert len(inbox(world.elu)) == 1
    deliver(at("mercredi", "07:00"))
    assert len(inbox(world.elu)) == 2
    assert inbox(world.maire) == []
    deliver(at("mercredi", "09:00"))
    assert [m.subject for m in inbox(world.maire)] == ["Pour la maire"]
    # Weekends are no longer off for those who follow the organisation.
    ping(world, world.elu, world.council, at("samedi", "10:00"), "Samedi")
    deliver(at("samedi", "10:00"))
    assert inbox(world.elu)[-1].subject == "Samedi"


def test_only_an_organisation_admin_changes_the_defaults(world, client_for):
    url = reverse("core:admin_notifications", args=["saint-aubin"])
    for persona in ("elu", "maire", "externe", "inconnu"):
        response = client_for(persona).post(url, {"default_frequency": Frequency.NEVER})
        assert response.status_code in (403, 404), persona
    world.org.refresh_from_db()
    assert world.org.default_frequency == Frequency.DAILY


# --- Exactly once per period --------------------------------------------------------------------


def test_delivering_twice_for_the_same_period_sends_one_digest(world):
    items = [ping(world, world.elu, world.council, at("mardi", f"1{i}:00")) for i in range(3)]
    deliver(at("mercredi", "08:00"))
    deliver(at("mercredi", "08:00"))
    deliver(at("mercredi", "08:01"))
    deliver(at("mercredi", "17:00"))
    assert len(inbox(world.elu)) == 1
    assert OutgoingEmail.objects.filter(recipient=world.elu).count() == 1
    one_of_each(*items)


def test_two_workers_racing_on_the_same_digest_build_it_once(world):
    """Both read the same waiting notifications before either wrote its e-mail (as two workers
    would); the second finds the key taken, or the notifications taken, and builds nothing."""
    ping(world, world.elu, world.council, at("mardi", "10:00"), "Un")
    ping(world, world.elu, world.council, at("mardi", "11:00"), "Deux")
    seen_by_a = list(Notification.objects.filter(recipient=world.elu).order_by("pk"))
    seen_by_b = list(seen_by_a)
    key = f"daily:{world.elu.pk}:2025-03-12"
    assert notify._build(world.elu, OutgoingEmail.Kind.DAILY, key, seen_by_a) is not None
    assert notify._build(world.elu, OutgoingEmail.Kind.DAILY, key, seen_by_b) is None
    # A third that saw the same items but computed another key (e.g. its clock was a day off)
    # is refused too: the items are already in an e-mail.
    assert notify._build(world.elu, OutgoingEmail.Kind.DAILY, key + "-autre", seen_by_b) is None
    notify.send_pending()
    assert len(inbox(world.elu)) == 1
    assert OutgoingEmail.objects.filter(recipient=world.elu).count() == 1


def test_a_digest_already_built_is_never_rebuilt_and_a_late_notification_goes_in_the_next(world):
    first = ping(world, world.elu, world.council, at("mardi", "15:00"), "Avant le résumé")
    deliver(at("mercredi", "08:00"))
    [digest] = OutgoingEmail.objects.filter(recipient=world.elu)
    # A notification dated before 08:00 whose transaction committed after the digest was built.
    late = ping(world, world.elu, world.council, at("mercredi", "07:59"), "Arrivée en retard")
    after = ping(world, world.elu, world.council, at("mercredi", "08:30"), "Après le résumé")
    deliver(at("mercredi", "08:05"))
    deliver(at("mercredi", "18:00"))
    assert OutgoingEmail.objects.filter(recipient=world.elu).count() == 1
    assert list(digest.items.all()) == [first]
    deliver(at("jeudi", "08:00"))
    assert len(inbox(world.elu)) == 2
    second = inbox(world.elu)[1]
    assert "Arrivée en retard" in second.body
    assert "Après le résumé" in second.body
    assert "Avant le résumé" not in second.body
    one_of_each(first, late, after)
    assert {n.email_id for n in (late, after)} != {digest.pk}


def test_the_scheduler_enqueues_its_tick_once_per_minute(world, monkeypatch):
    enqueued: list[str] = []
    monkeypatch.setattr("parvis.core.tasks.tick", SimpleNamespace(enqueue=lambda: enqueued.append("tick")))
    now = timezone.now().replace(second=5)
    assert scheduler.run_due(now) == ["tick"]
    assert scheduler.run_due(now.replace(second=55)) == []
    assert enqueued == ["tick"]
    assert scheduler.run_due(now + datetime.timedelta(minutes=1)) == ["tick"]
    assert ScheduledRun.objects.filter(name="tick").count() == 2


def test_the_scheduler_keeps_no_run_row_when_enqueueing_fails(world, monkeypatch):
    def broken() -> None:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr("parvis.core.tasks.tick", SimpleNamespace(enqueue=broken))
    with pytest.raises(RuntimeError):
        scheduler.run_due(timezone.now())
    assert not ScheduledRun.objects.exists()  # so the next round enqueues it


def test_the_scheduler_outlives_a_database_outage(monkeypatch):
    """`parvis_scheduler` runs for months beside the web process: a round that fails because
    the database is away (restart, failover) is logged and the next round goes on."""
    from django.core.management import call_command
    from django.db import OperationalError

    rounds: list[str] = []

    class Stop(Exception):
        pass

    def run_due() -> list[str]:
        rounds.append("round")
        if rounds.count("round") == 1:
            raise OperationalError("server closed the connection unexpectedly")
        raise Stop

    command = "parvis.core.management.commands.parvis_scheduler"
    monkeypatch.setattr(f"{command}.run_due", run_due)
    monkeypatch.setattr(f"{command}.close_old_connections", lambda: rounds.append("reconnect"))
    with pytest.raises(Stop):
        call_command("parvis_scheduler", interval=0)
    assert rounds == ["reconnect", "round", "reconnect", "round"]
    # With --once (a cron job, a test) the failure is reported, not hidden.
    rounds.clear()
    with pytest.raises(OperationalError):
        call_command("parvis_scheduler", once=True)


# --- Who gets e-mail ----------------------------------------------------------------------------


def test_no_email_about_an_organisation_she_has_left(world):
    ping(world, world.elu, world.council, at("mardi", "10:00"), "Confidentiel")
    OrgMembership.objects.filter(user=world.elu, organisation=world.org).update(is_active=False)
    deliver(at("mercredi", "08:00"))
    deliver(at("lundi+7", "08:00"))
    assert inbox(world.elu) == []
    assert not Notification.objects.filter(email_state=Notification.EmailState.PENDING).exists()


def test_no_email_to_a_deactivated_account(world):
    ping(world, world.elu, world.council, at("mardi", "10:00"), "Confidentiel")
    User.objects.filter(pk=world.elu.pk).update(is_active=False)
    deliver(at("mercredi", "08:00"))
    assert inbox(world.elu) == []


def test_an_account_email_that_failed_is_never_resent_without_its_body(world, monkeypatch):
    """A reset link is not kept in the outbox (it is a secret): if its sending failed, the row
    must not be picked up later by the outbox and sent as an empty e-mail."""

    def down(self: Any, *args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", down)
    with pytest.raises(ConnectionRefusedError, match="smtp down"):
        notify.send_account_email(
            world.elu.email,
            "Réinitialisation",
            "core/email/password_reset",
            {"user": world.elu, "link": "https://x/lien-secret"},
            world.elu,
        )
    monkeypatch.undo()
    OutgoingEmail.objects.update(claimed_at=timezone.now() - datetime.timedelta(hours=1))
    notify.send_pending()
    assert mail.outbox == []
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.FAILED
    assert notify.emails_this_month(world.elu) == 0


# --- The in-app centre --------------------------------------------------------------------------


def test_the_centre_lists_notifications_and_the_header_counts_the_unread(world, client_for):
    space_actions.add_space_member(Actor(world.maire), world.ecole, world.elu, Role.READER)
    ping(world, world.elu, world.council, timezone.now(), "Séance du 12 mars")
    client = client_for("elu")
    page = client.get("/notifications/").content.decode()
    assert french("You now have access to the space “%(space)s”", space="Projet école") in page
    assert "Séance du 12 mars" in page
    assert 'data-count="2"' in page
    # Others see nothing of it.
    other = client_for("maire").get("/notifications/").content.decode()
    assert "Séance du 12 mars" not in other
    assert french("No notification.") in other


def test_mark_all_as_read(world, client_for):
    for i in range(3):
        ping(world, world.elu, world.council, timezone.now(), f"N{i}")
    theirs = ping(world, world.maire, world.council, timezone.now(), "Pour la maire")
    client = client_for("elu")
    assert client.get(reverse("core:notifications_read")).status_code == 405
    assert client.post(reverse("core:notifications_read")).status_code == 302
    assert notify.unread_count(world.elu) == 0
    assert 'data-count="0"' in client.get("/notifications/").content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(world, client_for):
    n = ping(world, world.elu, world.council, timezone.now(), "Ordre du jour")
    response = client_for("elu").get(reverse("core:notification_open", args=[n.pk]))
    assert response.status_code == 302
    assert response["Location"] == n.url == space_actions.space_url(world.council)
    n.refresh_from_db()
    assert n.read_at is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://phishing.example/connexion/",
        "//phishing.example/connexion/",
        "/\\phishing.example/",
        "javascript:alert(1)",
        "http://testserver@phishing.example/",
    ],
)
def test_a_notification_link_never_leaves_the_site(world, client_for, url):
    n = ping(world, world.elu, world.council, timezone.now())
    Notification.objects.filter(pk=n.pk).update(url=url)
    response = client_for("elu").get(reverse("core:notification_open", args=[n.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"


def test_nobody_opens_someone_elses_notification(world, client_for):
    n = ping(world, world.elu, world.council, timezone.now())
    for persona in ("maire", "secretaire", "inconnu"):
        assert client_for(persona).get(reverse("core:notification_open", args=[n.pk])).status_code == 404
    assert client_for("anonyme").get(reverse("core:notification_open", args=[n.pk])).status_code == 302
    n.refresh_from_db()
    assert n.read_at is None


# --- The monthly counter ------------------------------------------------------------------------


def sent(user: User, when: datetime.datetime, status: str = OutgoingEmail.Status.SENT) -> None:
    OutgoingEmail.objects.create(
        recipient=user,
        to_address=user.email,
        kind=OutgoingEmail.Kind.DAILY,
        subject="Résumé",
        status=status,
        sent_at=when if status == OutgoingEmail.Status.SENT else None,
    )


def test_she_sees_how_many_emails_parvis_sent_her_this_month(world, client_for):
    month_start = timezone.localtime(timezone.now(), PARIS).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    sent(world.elu, month_start + datetime.timedelta(minutes=30))  # 00:30 Paris = the day before in UTC
    sent(world.elu, timezone.now())
    sent(world.elu, month_start - datetime.timedelta(minutes=30))  # last month
    sent(world.elu, timezone.now(), status=OutgoingEmail.Status.PENDING)  # not sent yet
    sent(world.elu, timezone.now(), status=OutgoingEmail.Status.FAILED)
    for _ in range(4):
        sent(world.maire, timezone.now())
    assert notify.emails_this_month(world.elu) == 2
    page = client_for("elu").get(reverse("core:notification_settings")).content.decode()
    with translation.override("fr"):
        expected = translation.ngettext(
            "Parvis sent you %(counter)s e-mail this month.",
            "Parvis sent you %(counter)s e-mails this month.",
            2,
        ) % {"counter": 2}
    assert expected != "Parvis sent you 2 e-mails this month.", "not translated into French"
    assert expected in page


def test_the_counter_counts_the_digests_actually_sent(world, client_for):
    ping(world, world.elu, world.council, at("mardi", "10:00"))
    assert notify.build_for(world.elu, at("mercredi", "08:00")) == 1
    assert notify.emails_this_month(world.elu) == 0  # built, not sent yet
    notify.send_pending()
    assert len(inbox(world.elu)) == 1
    assert notify.emails_this_month(world.elu) == 1


# --- Real SMTP ----------------------------------------------------------------------------------


@pytest.fixture
def smtp(settings: Any) -> Any:
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = sink.host
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_TIMEOUT = 10
        settings.SITE_URL = "https://parvis.saint-aubin.fr"
        yield sink


def test_a_digest_arrives_over_real_smtp_in_french_with_links(world, smtp):
    ping(world, world.elu, world.council, at("mardi", "09:00"), "Convocation au conseil")
    ping(world, world.elu, world.commission, at("mardi", "10:00"), "Budget primitif")
    deliver(at("mercredi", "08:00"))
    [received] = smtp.wait_for(1)
    outgoing = OutgoingEmail.objects.get(recipient=world.elu)
    assert received.rcpt_tos == ["elu@saint-aubin.localhost"]
    assert received.message["To"] == "elu@saint-aubin.localhost"
    with translation.override("fr"):
        subject = translation.gettext("Your daily Parvis digest")
    assert subject != "Your daily Parvis digest", "not translated into French"
    assert "=?utf-8?" in received.raw_subject.lower()  # RFC 2047: the é travels encoded
    assert str(make_header(decode_header(received.raw_subject))) == subject
    assert received.subject == subject
    assert received.message_id == outgoing.message_id
    assert received.message["Auto-Submitted"] == "auto-generated"
    text = received.part("text/plain")
    html = received.part("text/html")
    for title, space in (("Convocation au conseil", world.council), ("Budget primitif", world.commission)):
        link = "https://parvis.saint-aubin.fr" + space_actions.space_url(space)
        assert title in text
        assert link in text
        assert f'<a href="{link}">{title}</a>' in html
    assert "https://parvis.saint-aubin.fr" + reverse("core:notification_settings") in text
    outgoing.refresh_from_db()
    assert outgoing.status == OutgoingEmail.Status.SENT
    assert outgoing.body_text == ""  # the body is not kept once sent


def test_when_the_smtp_server_is_down_the_email_waits_for_the_next_round(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    with SmtpSink() as sink:
        settings.EMAIL_PORT = sink.port
    # the sink is stopped: nothing listens on that port any more
    ping(world, world.elu, world.council, at("mardi", "09:00"))
    deliver(at("mercredi", "08:00"))
    email = OutgoingEmail.objects.get(recipient=world.elu)
    assert (email.status, email.attempts) == (OutgoingEmail.Status.PENDING, 1)
    with SmtpSink() as sink:
        settings.EMAIL_PORT = sink.port
        deliver(at("mercredi", "08:01"))
        [received] = sink.wait_for(1)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutgoingEmail.Status.SENT, 2)
    assert received.message_id == email.message_id


# --- Real time ----------------------------------------------------------------------------------


class Socket:
    """A websocket client on the real ASGI application (routing, origin check, session auth).

    channels.testing.WebsocketCommunicator cannot be imported without daphne (its package
    imports the live-server helpers), so this is the same thin layer over asgiref's
    ApplicationCommunicator.
    """

    def __init__(self, path: str, cookie: str | None, origin: str | None = "http://127.0.0.1") -> None:
        from parvis.asgi import application

        headers = [(b"host", b"127.0.0.1")]
        if origin:
            headers.append((b"origin", origin.encode()))
        if cookie:
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
        }
        self.app = ApplicationCommunicator(application, scope)

    async def connect(self) -> None:
        await self.app.send_input({"type": "websocket.connect"})
        assert (await self.app.receive_output(3))["type"] == "websocket.accept"

    async def receive_json(self) -> dict[str, Any]:
        out = await self.app.receive_output(3)
        assert out["type"] == "websocket.send", out
        return dict(json.loads(out["text"]))

    async def closed_with(self) -> int:
        out = await self.app.receive_output(3)
        assert out["type"] == "websocket.close", out
        return int(out.get("code", 1000))

    async def nothing_more(self) -> bool:
        return await self.app.receive_nothing(0.2)

    async def close(self) -> None:
        await self.app.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.app.wait(1)


@pytest.fixture
def realtime(monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run an async scenario against the consumers inside the test's transaction.

    The `db` fixture wraps each test in a transaction that is rolled back, which the audit
    table needs (its triggers forbid the DELETE a `transactional_db` flush would do). A
    consumer reads the database through `database_sync_to_async`, which is thread-sensitive:
    when the scenario is driven with `async_to_sync` from the test's own thread, those reads
    run in that very thread, on the test's connection, and see the uncommitted world. Only
    Channels' `close_old_connections()` around each call would close that connection (it sees
    autocommit off and drops it), so it is disabled for the test. Writes made during the
    scenario go through `sync_to_async` (same thread) and their on-commit events are fired by
    `django_capture_on_commit_callbacks(execute=True)`.
    """
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)

    def run(scenario: Callable[[], Any]) -> None:
        async_to_sync(scenario)()

    def committed(action: Callable[[], Any]) -> Any:
        def inner() -> Any:
            with django_capture_on_commit_callbacks(execute=True):
                return action()

        return sync_to_async(inner)()

    run.committed = committed  # type: ignore[attr-defined]
    return run


def test_a_new_notification_pushes_the_unread_count(world, client_for, realtime):
    ping(world, world.elu, world.council, timezone.now(), "Déjà là")
    cookie = client_for("elu").cookies[settings.SESSION_COOKIE_NAME].value
    maire_cookie = client_for("maire").cookies[settings.SESSION_COOKIE_NAME].value

    async def scenario() -> None:
        elu, maire = Socket("/ws/notifications/", cookie), Socket("/ws/notifications/", maire_cookie)
        await elu.connect()
        await maire.connect()
        assert await elu.receive_json() == {"type": "unread", "count": 1}
        assert await maire.receive_json() == {"type": "unread", "count": 0}
        await realtime.committed(
            lambda: space_actions.add_space_member(Actor(world.maire), world.ecole, world.elu, Role.READER)
        )
        pushed = await elu.receive_json()
        assert pushed["count"] == 2
        with translation.override("fr"):
            assert pushed["title"] == translation.gettext("You now have access to the space “%(space)s”") % {
                "space": "Projet école"
            }
        assert await maire.nothing_more()  # nothing about elu reaches the maire
        await elu.close()
        await maire.close()

    realtime(scenario)


def test_ending_the_session_closes_the_socket_with_4401(world, client_for, realtime):
    from parvis.core.models import UserSession
    from parvis.core.sessions import end_session

    cookie = client_for("elu").cookies[settings.SESSION_COOKIE_NAME].value
    other = client_for("elu").cookies[settings.SESSION_COOKIE_NAME].value

    async def scenario() -> None:
        ended, kept = Socket("/ws/notifications/", cookie), Socket("/ws/notifications/", other)
        await ended.connect()
        await kept.connect()
        await ended.receive_json()
        await kept.receive_json()
        await realtime.committed(lambda: end_session(UserSession.objects.get(session_key=cookie)))
        assert await ended.closed_with() == 4401
        assert await kept.nothing_more()  # her other session stays open
        await kept.close()

    realtime(scenario)


def test_a_socket_without_a_live_session_or_origin_is_refused(world, client_for, realtime):
    cookie = client_for("elu").cookies[settings.SESSION_COOKIE_NAME].value

    async def scenario() -> None:
        anonymous = Socket("/ws/notifications/", None)
        await anonymous.connect()
        assert await anonymous.closed_with() == 4401
        forged = Socket("/ws/notifications/", "pas-une-session")
        await forged.connect()
        assert await forged.closed_with() == 4401
        cross_site = Socket("/ws/notifications/", cookie, origin="https://phishing.example")
        await cross_site.app.send_input({"type": "websocket.connect"})
        assert (await cross_site.app.receive_output(3))["type"] == "websocket.close"

    realtime(scenario)
