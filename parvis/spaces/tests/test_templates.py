"""Space templates: the administrator makes one (tools, visibility, 2FA, folders), creates the
council's seventeen commissions from it at once, uses it in another organisation she
administers, and saves an existing space as a template."""

import pytest

from conftest import french
from parvis.core.models import AuditEvent, OrgMembership
from parvis.core.tests.factories import member
from parvis.spaces.models import Kind, Role, Space, SpaceMembership, SpaceTemplate, Visibility
from parvis.spaces.tests.conftest import space_url, url

COMMISSIONS = [
    "Finances",
    "Urbanisme",
    "Travaux",
    "Écoles",
    "Culture",
    "Sports",
    "Associations",
    "Environnement",
    "Voirie",
    "Cimetière",
    "Fêtes et cérémonies",
    "Jeunesse",
    "Aînés",
    "Communication",
    "Sécurité",
    "Agriculture",
    "Appels d'offres",
]


@pytest.fixture
def commission_template(world, a_tool) -> SpaceTemplate:
    return SpaceTemplate.objects.create(
        organisation=world.org,
        name="Commission du conseil",
        kind=Kind.COMMISSION,
        visibility=Visibility.ON_REQUEST,
        tools=[a_tool],
        require_2fa=True,
        block_downloads=True,
        folders=["Séances", "Rapports/2026"],
    )


def batch(client, org_slug: str, template: SpaceTemplate, names: list[str] | str):  # type: ignore[no-untyped-def]
    text = names if isinstance(names, str) else "\n".join(names)
    return client.post(url("batch", org_slug), {"template": template.pk, "names": text})


def test_the_org_admin_creates_a_template_with_tools_visibility_2fa_and_folders(world, client_for, a_tool):
    response = client_for("secretaire").post(
        url("template_new", "saint-aubin"),
        {
            "name": "Commission du conseil",
            "description": "Une commission permanente.",
            "kind": Kind.COMMISSION,
            "visibility": Visibility.ON_REQUEST,
            "tools": [a_tool],
            "require_2fa": "on",
            "block_downloads": "on",
            "folders_text": "Séances\n/Rapports/2026/\n\n",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url("templates", "saint-aubin")
    template = SpaceTemplate.objects.get(name="Commission du conseil")
    assert template.organisation == world.org
    assert (template.kind, template.visibility, template.tools) == (
        Kind.COMMISSION,
        Visibility.ON_REQUEST,
        [a_tool],
    )
    assert template.require_2fa
    assert template.block_downloads
    assert template.folders == ["Séances", "Rapports/2026"]
    assert template.created_by == world.secretaire
    assert AuditEvent.objects.filter(action="template.create", object_id=str(template.pk)).count() == 1
    assert (
        "Commission du conseil"
        in client_for("secretaire").get(url("templates", "saint-aubin")).content.decode()
    )


def test_the_org_admin_edits_and_deletes_a_template_and_spaces_made_from_it_stay(
    world, client_for, commission_template
):
    client = client_for("secretaire")
    form = client.get(url("template", "saint-aubin", commission_template.pk)).content.decode()
    assert "Séances\nRapports/2026" in form
    response = client.post(
        url("template", "saint-aubin", commission_template.pk),
        {
            "name": "Commission",
            "kind": Kind.COMMISSION,
            "visibility": Visibility.PRIVATE,
            "folders_text": "Séances",
        },
    )
    assert response.status_code == 302
    commission_template.refresh_from_db()
    assert (commission_template.name, commission_template.visibility) == ("Commission", Visibility.PRIVATE)
    assert not commission_template.require_2fa
    batch(client, "saint-aubin", commission_template, ["Urbanisme"])
    client.post(url("template_delete", "saint-aubin", commission_template.pk))
    assert not SpaceTemplate.objects.filter(pk=commission_template.pk).exists()
    assert Space.objects.get(name="Urbanisme").template is None
    assert AuditEvent.objects.filter(action__startswith="template.").count() == 2


def test_seventeen_commissions_are_created_at_once_from_a_template(world, client_for, commission_template):
    client = client_for("secretaire")
    response = batch(client, "saint-aubin", commission_template, COMMISSIONS)
    assert response.status_code == 302
    assert response["Location"] == url("my_spaces", "saint-aubin")
    created = Space.objects.filter(template=commission_template)
    assert sorted(created.values_list("name", flat=True)) == sorted(COMMISSIONS)
    for space in created:
        assert space.organisation == world.org
        assert space.kind == Kind.COMMISSION
        assert space.visibility == Visibility.ON_REQUEST
        assert space.tools == commission_template.tools
        assert space.require_2fa
        assert space.block_downloads
        assert SpaceMembership.objects.get(space=space).user == world.secretaire
        assert SpaceMembership.objects.get(space=space).role == Role.MANAGER
    assert len({s.slug for s in created}) == 17
    events = AuditEvent.objects.filter(action="space.create")
    assert events.count() == 17
    assert {e.data["template"] for e in events} == {commission_template.pk}
    page = client.get(url("my_spaces", "saint-aubin")).content.decode()
    assert french("%(count)d spaces have been created.", count=17) in page


def test_a_space_created_from_a_template_takes_its_settings(world, client_for, commission_template):
    response = client_for("secretaire").post(
        url("create", "saint-aubin"),
        {
            "name": "Commission des marchés",
            "template": commission_template.pk,
            "kind": Kind.OTHER,
            "visibility": Visibility.ORGANISATION,
        },
    )
    assert response.status_code == 302
    space = Space.objects.get(name="Commission des marchés")
    assert response["Location"] == space_url(space)
    assert (space.kind, space.visibility, space.require_2fa) == (Kind.COMMISSION, Visibility.ON_REQUEST, True)
    assert space.template == commission_template


def test_a_space_with_the_same_name_gets_its_own_address(world, client_for):
    client = client_for("secretaire")
    data = {"name": "Conseil municipal", "kind": Kind.COUNCIL, "visibility": Visibility.PRIVATE}
    assert client.post(url("create", "saint-aubin"), data).status_code == 302
    slugs = set(
        Space.objects.filter(organisation=world.org, name="Conseil municipal").values_list("slug", flat=True)
    )
    assert slugs == {"conseil", "conseil-municipal"}


def test_an_admin_of_two_organisations_uses_a_template_of_one_in_the_other(
    world, client_for, commission_template
):
    member(world.other, world.secretaire, role=OrgMembership.Role.ADMIN)
    client = client_for("secretaire")
    form = client.get(url("create", "val-de-brume")).content.decode()
    assert (
        f'<option value="{commission_template.pk}">Commission du conseil — Commune de Saint-Aubin</option>'
        in form
    )

    response = client.post(
        url("create", "val-de-brume"),
        {
            "name": "Commission d'appel d'offres",
            "template": commission_template.pk,
            "kind": "other",
            "visibility": "private",
        },
    )
    assert response.status_code == 302
    space = Space.objects.get(name="Commission d'appel d'offres")
    assert space.organisation == world.other
    assert space.visibility == Visibility.ON_REQUEST
    assert space.require_2fa

    assert batch(client, "val-de-brume", commission_template, ["Voirie", "Écoles"]).status_code == 302
    assert set(
        Space.objects.filter(organisation=world.other, template=commission_template).values_list(
            "name", flat=True
        )
    ) == {
        "Commission d'appel d'offres",
        "Voirie",
        "Écoles",
    }
    assert not Space.objects.filter(organisation=world.org, name="Voirie").exists()


def test_an_admin_of_one_organisation_cannot_use_the_template_of_another(
    world, client_for, commission_template, unchanged
):
    """inconnu administers Val-de-Brume only: Saint-Aubin's template is not offered, and asking
    for it by number gets the same answer as a template that does not exist."""
    client = client_for("inconnu")
    assert "Commission du conseil" not in client.get(url("create", "val-de-brume")).content.decode()
    check = unchanged()
    data = {"name": "Volée", "kind": "other", "visibility": "private"}
    stolen = client.post(url("create", "val-de-brume"), {**data, "template": commission_template.pk})
    missing = client.post(url("create", "val-de-brume"), {**data, "template": 999_999})
    assert stolen.status_code == missing.status_code == 400
    assert (
        french("Select a valid choice. That choice is not one of the available choices.")
        in stolen.content.decode()
    )
    assert batch(client, "val-de-brume", commission_template, ["Volée"]).status_code == 400
    # Nor can she reach Saint-Aubin's pages.
    assert batch(client, "saint-aubin", commission_template, ["Volée"]).status_code == 404
    assert client.get(url("template", "saint-aubin", commission_template.pk)).status_code == 404
    assert client.get(url("template", "val-de-brume", commission_template.pk)).status_code == 404
    check()
    assert not Space.objects.filter(name="Volée").exists()


def test_a_member_who_is_not_admin_creates_no_space_and_sees_no_template(
    world, client_for, commission_template
):
    client = client_for("maire")
    assert client.get(url("create", "saint-aubin")).status_code == 403
    assert batch(client, "saint-aubin", commission_template, ["Urbanisme"]).status_code == 403
    assert client.get(url("templates", "saint-aubin")).status_code == 403
    assert client.post(url("template_delete", "saint-aubin", commission_template.pk)).status_code == 403
    assert not Space.objects.filter(name="Urbanisme").exists()
    assert SpaceTemplate.objects.filter(pk=commission_template.pk).exists()


@pytest.mark.parametrize(
    ("names", "message", "params"),
    [
        ("", "This field is required.", {}),
        ("Finances\nUrbanisme\nfinances", "The same name appears twice.", {}),
        ("\n".join(f"Commission {n}" for n in range(61)), "At most %(max)d spaces at once.", {"max": 60}),
        (
            "Urbanisme\n" + "C" * 151,
            "This name is too long (150 characters at most): %(name)s",
            {"name": "C" * 40 + "…"},
        ),
    ],
    ids=["empty", "duplicate", "61 lines", "151 characters"],
)
def test_bad_batch_input_gets_a_french_error_and_creates_nothing(
    world, client_for, commission_template, unchanged, names, message, params
):
    check = unchanged()
    response = batch(client_for("secretaire"), "saint-aubin", commission_template, names)
    assert response.status_code == 400
    assert french(message, **params) in response.content.decode()
    check()


def test_sixty_lines_is_still_accepted(world, client_for, commission_template):
    names = [f"Groupe de travail {n}" for n in range(60)]
    assert batch(client_for("secretaire"), "saint-aubin", commission_template, names).status_code == 302
    assert Space.objects.filter(template=commission_template).count() == 60


def test_the_org_admin_saves_a_space_as_a_template(world, client_for):
    world.commission.block_downloads = True
    world.commission.description = "Budget et comptes."
    world.commission.save()
    response = client_for("secretaire").post(
        space_url(world.commission, "save_template"), {"name": "Commission type"}
    )
    assert response.status_code == 302
    template = SpaceTemplate.objects.get(name="Commission type")
    assert template.organisation == world.org
    assert (template.visibility, template.block_downloads, template.description) == (
        Visibility.PRIVATE,
        True,
        "Budget et comptes.",
    )
    assert AuditEvent.objects.filter(action="template.create").count() == 1


def test_a_facilitator_who_is_not_admin_cannot_save_a_template(world, client_for):
    response = client_for("maire").post(
        space_url(world.commission, "save_template"), {"name": "Commission type"}
    )
    assert response.status_code == 403
    assert (
        french("Save as a template")
        not in client_for("maire").get(space_url(world.commission, "settings")).content.decode()
    )
    assert not SpaceTemplate.objects.filter(name="Commission type").exists()
