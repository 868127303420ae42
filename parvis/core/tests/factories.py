"""Factories and the personas world: tests read like sentences about maire, secretaire, elu,
agent_rh, dpo, externe and inconnu (from another commune)."""

import itertools
from dataclasses import dataclass
from typing import Any

from parvis.core.models import Group, Organisation, OrgMembership, User
from parvis.spaces.models import (
    AccessCode,
    Role,
    Space,
    SpaceGroupGrant,
    SpaceMembership,
    SpaceTemplate,
    Visibility,
)

PASSWORD = "Un-mot-de-passe-de-test-2026"
_n = itertools.count(1)

ROLE = OrgMembership.Role
QUALITE = OrgMembership.Qualite


def make_org(**fields: Any) -> Organisation:
    n = next(_n)
    fields.setdefault("name", f"Commune {n}")
    fields.setdefault("slug", f"commune-{n}")
    return Organisation.objects.create(**fields)


def make_user(email: str | None = None, **fields: Any) -> User:
    n = next(_n)
    fields.setdefault("full_name", f"Personne {n}")
    return User.objects.create_user(
        email=email or f"personne{n}@exemple.localhost", password=PASSWORD, **fields
    )


def member(
    org: Organisation,
    user: User,
    role: str = ROLE.MEMBER,
    qualite: str = QUALITE.AGENT,
    is_active: bool = True,
) -> OrgMembership:
    return OrgMembership.objects.create(
        organisation=org, user=user, role=role, qualite=qualite, is_active=is_active
    )


def make_space(org: Organisation, name: str | None = None, **fields: Any) -> Space:
    n = next(_n)
    name = name or f"Espace {n}"
    fields.setdefault("slug", f"espace-{n}")
    return Space.objects.create(organisation=org, name=name, **fields)


def join(space: Space, user: User, role: str = Role.READER) -> SpaceMembership:
    return SpaceMembership.objects.create(space=space, user=user, role=role)


@dataclass
class World:
    org: Organisation
    other: Organisation
    maire: User
    secretaire: User
    elu: User
    agent_rh: User
    dpo: User
    externe: User
    inconnu: User
    direction: Group
    rh_group: Group
    council: Space
    commission: Space
    rh: Space
    ecole: Space
    other_space: Space
    template: SpaceTemplate
    access_code: AccessCode
    code: str

    PERSONAS = ("maire", "secretaire", "elu", "agent_rh", "dpo", "externe", "inconnu")

    def persona(self, name: str) -> User:
        return getattr(self, name)


def build_world() -> World:
    """Two communes. In Saint-Aubin: the council (open to all members), a private commission
    (elu contributor, maire manager), the RH space (private, via the RH group, 2FA required), the
    school project (joined on request; externe is its guest). The DPO serves both communes."""
    from django.utils import timezone

    from parvis.core.models import digest

    org = make_org(name="Commune de Saint-Aubin", slug="saint-aubin")
    other = make_org(name="Commune de Val-de-Brume", slug="val-de-brume")
    people = {
        "maire": make_user("maire@saint-aubin.localhost", full_name="Claire Martin"),
        "secretaire": make_user("secretaire@saint-aubin.localhost", full_name="Sophie Bernard"),
        "elu": make_user("elu@saint-aubin.localhost", full_name="Paul Durand"),
        "agent_rh": make_user("rh@saint-aubin.localhost", full_name="Nadia Petit"),
        "dpo": make_user("dpo@cdg.localhost", full_name="Marc Lefebvre"),
        "externe": make_user("julie@bureau-etudes.localhost", full_name="Julie Moreau"),
        "inconnu": make_user("secretaire@val-de-brume.localhost", full_name="Luc Girard"),
    }
    member(org, people["maire"], qualite=QUALITE.ELU)
    member(org, people["secretaire"], role=ROLE.ADMIN)
    member(org, people["elu"], qualite=QUALITE.ELU)
    member(org, people["agent_rh"])
    member(org, people["dpo"], qualite=QUALITE.EXTERNE)
    member(other, people["dpo"], qualite=QUALITE.EXTERNE)
    member(org, people["externe"], role=ROLE.GUEST, qualite=QUALITE.EXTERNE)
    member(other, people["inconnu"], role=ROLE.ADMIN)
    direction = Group.objects.create(organisation=org, name="Direction")
    direction.members.set([people["maire"], people["secretaire"]])
    rh_group = Group.objects.create(organisation=org, name="Ressources humaines")
    rh_group.members.set([people["agent_rh"]])

    council = make_space(org, "Conseil municipal", slug="conseil", visibility=Visibility.ORGANISATION)
    join(council, people["maire"], Role.MANAGER)
    join(council, people["elu"], Role.CONTRIBUTOR)
    commission = make_space(org, "Commission Finances", slug="finances")
    join(commission, people["maire"], Role.MANAGER)
    join(commission, people["elu"], Role.CONTRIBUTOR)
    rh = make_space(org, "Ressources humaines", slug="rh", require_2fa=True)
    SpaceGroupGrant.objects.create(space=rh, group=rh_group, role=Role.CONTRIBUTOR)
    ecole = make_space(org, "Projet école", slug="ecole", visibility=Visibility.ON_REQUEST)
    join(ecole, people["externe"], Role.CONTRIBUTOR)
    join(ecole, people["maire"], Role.MANAGER)
    other_space = make_space(
        other, "Conseil de Val-de-Brume", slug="conseil", visibility=Visibility.ORGANISATION
    )
    join(other_space, people["inconnu"], Role.MANAGER)
    template = SpaceTemplate.objects.create(organisation=org, name="Commission municipale", kind="commission")
    code = "ABCDEFGHJKMN"
    access_code = AccessCode.objects.create(
        space=ecole,
        code_digest=digest(code),
        hint=code[-4:],
        role=Role.READER,
        expires_at=timezone.now() + timezone.timedelta(days=7),
        max_uses=5,
    )
    return World(
        org=org,
        other=other,
        direction=direction,
        rh_group=rh_group,
        council=council,
        commission=commission,
        rh=rh,
        ecole=ecole,
        other_space=other_space,
        template=template,
        access_code=access_code,
        code="ABCD-EFGH-JKMN",
        **people,
    )
