"""Mes espaces: the spaces she belongs to, most recently active first, in tabs she arranges."""

import datetime
import re

from django.utils import timezone

from conftest import french
from parvis.core.models import AuditEvent
from parvis.core.tests.factories import make_space
from parvis.spaces.models import Role, Space, SpaceGroupGrant, SpaceTab
from parvis.spaces.tests.conftest import in_order, listed, space_url, url

MY_SPACES = url("my_spaces", "saint-aubin")
TABS = url("tabs", "saint-aubin")


def tab_names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<li><a href="\?onglet=\d+"[^>]*>([^<]+)</a></li>', response.content.decode())


def make_tab(client, name: str) -> SpaceTab:  # type: ignore[no-untyped-def]
    response = client.post(TABS, {"name": name})
    tab = SpaceTab.objects.get(name=name)
    assert response["Location"] == url("tab", "saint-aubin", tab.pk)
    return tab


def test_it_lists_the_spaces_she_belongs_to_herself_or_through_her_group(world, client_for):
    assert listed(client_for("maire").get(MY_SPACES)) == {"conseil", "finances", "ecole"}
    # agent_rh is in the RH space through her group only; the council, which she could read,
    # is not "hers" until she joins it.
    rh = client_for("agent_rh")
    assert listed(rh.get(MY_SPACES)) == {"rh"}
    rh.post(space_url(world.council, "join"))
    assert listed(rh.get(MY_SPACES)) == {"rh", "conseil"}


def test_the_org_admin_in_no_space_is_told_so(world, client_for):
    page = client_for("secretaire").get(MY_SPACES).content.decode()
    assert french("You do not belong to any space yet.") in page
    assert listed(page) == set()


def test_the_most_recently_active_space_comes_first_and_an_action_moves_it_up(world, client_for):
    now = timezone.now()
    for days, space in enumerate((world.ecole, world.commission, world.council), start=1):
        Space.objects.filter(pk=space.pk).update(last_activity_at=now - datetime.timedelta(days=days))
    client = client_for("maire")
    assert in_order(client.get(MY_SPACES)) == ["ecole", "finances", "conseil"]
    # Something happens in the council: the mayor adds a member to it.
    client.post(space_url(world.council, "members"), {"email": world.agent_rh.email, "role": Role.READER})
    assert in_order(client.get(MY_SPACES)) == ["conseil", "ecole", "finances"]
    # Then the commission's settings change.
    client.post(
        space_url(world.commission, "settings"),
        {
            "name": "Commission Finances",
            "kind": "other",
            "visibility": "private",
            "description": "Budget 2027",
        },
    )
    assert in_order(client.get(MY_SPACES)) == ["finances", "conseil", "ecole"]


def test_she_creates_names_fills_and_opens_a_tab(world, client_for):
    client = client_for("maire")
    tab = make_tab(client, "Commissions")
    assert (tab.user, tab.organisation, tab.position) == (world.maire, world.org, 0)
    response = client.post(
        url("tab", "saint-aubin", tab.pk),
        {"name": "Mes commissions", "spaces": [world.commission.pk, world.ecole.pk]},
    )
    assert response["Location"] == f"{MY_SPACES}?onglet={tab.pk}"
    tab.refresh_from_db()
    assert tab.name == "Mes commissions"
    assert set(tab.spaces.all()) == {world.commission, world.ecole}
    opened = client.get(f"{MY_SPACES}?onglet={tab.pk}")
    assert listed(opened) == {"finances", "ecole"}
    assert tab_names(opened) == ["Mes commissions"]
    # "All" still lists every one of her spaces.
    assert listed(client.get(MY_SPACES)) == {"conseil", "finances", "ecole"}
    assert AuditEvent.objects.filter(action__startswith="tab.").count() == 2


def test_an_archived_space_leaves_her_tabs_for_her_archives(world, client_for):
    client = client_for("maire")
    tab = make_tab(client, "Suivi")
    client.post(url("tab", "saint-aubin", tab.pk), {"name": "Suivi", "spaces": [world.commission.pk]})
    client.post(space_url(world.commission, "archive"), {"archive": "1"})
    page = client.get(f"{MY_SPACES}?onglet={tab.pk}").content.decode()
    assert listed(page) == set()
    assert french("This tab is empty.") in page
    assert listed(client.get(f"{MY_SPACES}?onglet=archives")) == {"finances"}


def test_she_orders_her_tabs_up_and_down(world, client_for):
    client = client_for("maire")
    first, second, third = (make_tab(client, name) for name in ("Conseil", "Commissions", "Projets"))
    assert tab_names(client.get(MY_SPACES)) == ["Conseil", "Commissions", "Projets"]
    client.post(url("tab_move", "saint-aubin", third.pk), {"direction": "up"})
    assert tab_names(client.get(MY_SPACES)) == ["Conseil", "Projets", "Commissions"]
    client.post(url("tab_move", "saint-aubin", first.pk), {"direction": "down"})
    assert tab_names(client.get(MY_SPACES)) == ["Projets", "Conseil", "Commissions"]
    # Moving past either end changes nothing.
    client.post(url("tab_move", "saint-aubin", third.pk), {"direction": "up"})
    client.post(url("tab_move", "saint-aubin", second.pk), {"direction": "down"})
    assert tab_names(client.get(MY_SPACES)) == ["Projets", "Conseil", "Commissions"]
    assert list(SpaceTab.objects.values_list("position", flat=True)) == [0, 1, 2]


def test_she_deletes_a_tab_and_her_spaces_stay(world, client_for):
    client = client_for("maire")
    tab = make_tab(client, "Provisoire")
    client.post(url("tab", "saint-aubin", tab.pk), {"name": "Provisoire", "spaces": [world.council.pk]})
    response = client.post(url("tab_delete", "saint-aubin", tab.pk))
    assert response["Location"] == TABS
    assert not SpaceTab.objects.exists()
    assert Space.objects.filter(pk=world.council.pk).exists()
    assert tab_names(client.get(MY_SPACES)) == []


def test_another_persons_tab_is_a_404_and_stays_as_it_is(world, client_for):
    tab = make_tab(client_for("maire"), "Confidentiel")
    elu = client_for("elu")
    assert elu.get(url("tab", "saint-aubin", tab.pk)).status_code == 404
    assert elu.post(url("tab", "saint-aubin", tab.pk), {"name": "Pris"}).status_code == 404
    assert elu.post(url("tab_move", "saint-aubin", tab.pk), {"direction": "down"}).status_code == 404
    assert elu.post(url("tab_delete", "saint-aubin", tab.pk)).status_code == 404
    # Opening it by number shows her own spaces, not the tab.
    page = elu.get(f"{MY_SPACES}?onglet={tab.pk}").content.decode()
    assert "Confidentiel" not in page
    tab.refresh_from_db()
    assert tab.name == "Confidentiel"


def test_tabs_belong_to_one_organisation(world, client_for):
    """The DPO's tabs in Saint-Aubin do not show in Val-de-Brume, nor open from there."""
    client = client_for("dpo")
    tab = make_tab(client, "Registre")
    assert tab.organisation == world.org
    assert tab_names(client.get(url("my_spaces", "val-de-brume"))) == []
    assert client.get(url("tab", "val-de-brume", tab.pk)).status_code == 404


def test_a_space_given_to_her_group_later_appears_in_her_list(world, client_for):
    space = make_space(world.org, "Comité social", slug="comite-social")
    SpaceGroupGrant.objects.create(space=space, group=world.rh_group, role=Role.READER)
    assert "comite-social" in listed(client_for("agent_rh").get(MY_SPACES))
