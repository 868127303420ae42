"""Load a fictional commune for the demo: its council, 17 commissions, a member for each persona,
and a DPO who also serves a second fictional commune. Idempotent: run twice, loaded once."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from parvis.core import actions as core_actions
from parvis.core import registry
from parvis.core.audit import Actor
from parvis.core.models import Organisation, OrgMembership, User
from parvis.spaces import actions
from parvis.spaces.models import Kind, Role, Visibility

DEMO_PASSWORD = "Parvis-demo-2026!"

COMMISSIONS = [
    "Finances",
    "Urbanisme",
    "Travaux",
    "Affaires scolaires",
    "Action sociale",
    "Culture",
    "Sports",
    "Vie associative",
    "Environnement",
    "Voirie et réseaux",
    "Communication",
    "Personnel",
    "Appels d'offres",
    "Fêtes et cérémonies",
    "Jeunesse",
    "Agriculture",
    "Sécurité et prévention",
]

ROLE = OrgMembership.Role
QUALITE = OrgMembership.Qualite

# (persona, full name, e-mail, organisations with (role, qualité))
PEOPLE = [
    ("operateur", "Opérateur Parvis", "operateur@parvis.localhost", []),
    ("maire", "Claire Martin", "maire@saint-aubin.localhost", [("saint-aubin", ROLE.MEMBER, QUALITE.ELU)]),
    (
        "secretaire",
        "Sophie Bernard",
        "secretaire@saint-aubin.localhost",
        [("saint-aubin", ROLE.ADMIN, QUALITE.AGENT)],
    ),
    ("elu", "Paul Durand", "elu@saint-aubin.localhost", [("saint-aubin", ROLE.MEMBER, QUALITE.ELU)]),
    ("agent_rh", "Nadia Petit", "rh@saint-aubin.localhost", [("saint-aubin", ROLE.MEMBER, QUALITE.AGENT)]),
    (
        "dpo",
        "Marc Lefebvre",
        "dpo@cdg-exemple.localhost",
        [("saint-aubin", ROLE.MEMBER, QUALITE.EXTERNE), ("val-de-brume", ROLE.MEMBER, QUALITE.EXTERNE)],
    ),
    (
        "externe",
        "Julie Moreau",
        "julie.moreau@bureau-etudes.localhost",
        [("saint-aubin", ROLE.GUEST, QUALITE.EXTERNE)],
    ),
    (
        "inconnu",
        "Luc Girard",
        "secretaire@val-de-brume.localhost",
        [("val-de-brume", ROLE.ADMIN, QUALITE.AGENT)],
    ),
]


class Command(BaseCommand):
    help = "Load the fictional demo communes and print the demo accounts."

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(settings.LANGUAGE_CODE)
        if Organisation.objects.filter(slug="saint-aubin").exists():
            self.stdout.write(_("The demo data is already loaded."))
        else:
            self.load()
        self.stdout.write("\n" + _("Demo accounts (password: %(password)s)") % {"password": DEMO_PASSWORD})
        for persona, name, email, _orgs in PEOPLE:
            self.stdout.write(f"  {persona:<11} {name:<18} {email}")

    @transaction.atomic
    def load(self) -> None:
        system = Actor.system()
        tools = [tool.name for tool in registry.all_tools()]  # every tool on, to show them all
        orgs = {
            "saint-aubin": core_actions.create_organisation(
                system,
                name="Commune de Saint-Aubin-sur-Loire",
                slug="saint-aubin",
                kind=Organisation.Kind.COMMUNE,
                population=1480,
            ),
            "val-de-brume": core_actions.create_organisation(
                system,
                name="Commune de Val-de-Brume",
                slug="val-de-brume",
                kind=Organisation.Kind.COMMUNE,
                population=820,
            ),
        }
        users: dict[str, User] = {}
        for persona, name, email, memberships in PEOPLE:
            user = User.objects.create_user(
                email=email, password=DEMO_PASSWORD, full_name=name, is_superuser=persona == "operateur"
            )
            users[persona] = user
            for slug, role, qualite in memberships:
                core_actions.add_member(system, orgs[slug], user, role, qualite)
        org = orgs["saint-aubin"]
        secretaire = Actor(users["secretaire"])
        groups = {
            name: core_actions.create_group(secretaire, org, name)
            for name in ("Direction", "Ressources humaines", "Services techniques")
        }
        core_actions.set_group_members(secretaire, groups["Direction"], [users["secretaire"], users["maire"]])
        core_actions.set_group_members(
            secretaire, groups["Ressources humaines"], [users["agent_rh"], users["secretaire"]]
        )

        commission = actions.save_template(
            secretaire,
            org,
            name="Commission municipale",
            kind=Kind.COMMISSION,
            visibility=Visibility.PRIVATE,
            description="Travaux préparatoires d'une commission.",
            folders=["Convocations", "Comptes rendus", "Documents de travail"],
            tools=tools,
        )
        council = actions.create_space(
            secretaire,
            org,
            name="Conseil municipal",
            kind=Kind.COUNCIL,
            visibility=Visibility.ORGANISATION,
            description="Séances, délibérations et documents du conseil municipal.",
            tools=tools,
        )
        for persona in ("maire", "elu"):
            actions.add_space_member(secretaire, council, users[persona], Role.CONTRIBUTOR)
        actions.set_space_role(secretaire, council.memberships.get(user=users["maire"]), Role.MANAGER)
        for space in actions.create_spaces_from_template(
            secretaire, org, commission, [f"Commission {n}" for n in COMMISSIONS]
        ):
            actions.add_space_member(secretaire, space, users["elu"], Role.CONTRIBUTOR)
            actions.add_space_member(secretaire, space, users["maire"], Role.MANAGER)
        rh = actions.create_space(
            secretaire,
            org,
            name="Ressources humaines",
            kind=Kind.SERVICE,
            visibility=Visibility.PRIVATE,
            require_2fa=True,
            tools=tools,
        )
        actions.set_group_grant(secretaire, rh, groups["Ressources humaines"], Role.CONTRIBUTOR)
        ecole = actions.create_space(
            secretaire,
            org,
            name="Projet école",
            kind=Kind.PROJECT,
            visibility=Visibility.ON_REQUEST,
            description="Rénovation énergétique de l'école, avec le bureau d'études.",
            tools=tools,
        )
        actions.add_space_member(secretaire, ecole, users["externe"], Role.CONTRIBUTOR)
        registre = actions.create_space(
            secretaire,
            org,
            name="Registre RGPD",
            kind=Kind.PROJECT,
            visibility=Visibility.PRIVATE,
            tools=tools,
        )
        actions.add_space_member(secretaire, registre, users["dpo"], Role.MANAGER)
        actions.create_space(
            Actor(users["inconnu"]),
            orgs["val-de-brume"],
            name="Conseil municipal",
            kind=Kind.COUNCIL,
            visibility=Visibility.ORGANISATION,
            tools=tools,
        )
