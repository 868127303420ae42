"""`make demo` loads a fictional commune a visitor can try at once: its council, its 17
commissions, a member for each persona, and a DPO who also serves a second commune."""

import io

from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, override_settings

from parvis.core.models import Organisation, OrgMembership, User
from parvis.spaces.management.commands.load_demo import DEMO_PASSWORD, PEOPLE
from parvis.spaces.models import Kind, Space, SpaceMembership

FAST = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


def load() -> str:
    out = io.StringIO()
    with FAST:
        call_command("load_demo", stdout=out)
    return out.getvalue()


def test_the_demo_holds_the_council_seventeen_commissions_and_every_persona(db, secrets_registry):
    secrets_registry.add(DEMO_PASSWORD)
    printed = load()
    commune = Organisation.objects.get(slug="saint-aubin")
    assert Space.objects.filter(organisation=commune, kind=Kind.COUNCIL).count() == 1
    assert Space.objects.filter(organisation=commune, kind=Kind.COMMISSION).count() == 17
    for persona, _name, email, memberships in PEOPLE:
        assert email in printed, persona
        user = User.objects.get(email=email)
        for slug, role, qualite in memberships:
            assert OrgMembership.objects.filter(
                user=user, organisation__slug=slug, role=role, qualite=qualite, is_active=True
            ).exists(), (persona, slug)
    dpo = User.objects.get(email="dpo@cdg-exemple.localhost")
    assert set(dpo.org_memberships.values_list("organisation__slug", flat=True)) == {
        "saint-aubin",
        "val-de-brume",
    }
    maire = User.objects.get(email="maire@saint-aubin.localhost")
    assert SpaceMembership.objects.filter(user=maire, space__kind=Kind.COMMISSION).count() == 17


def test_the_printed_password_signs_every_persona_in(db, secrets_registry):
    secrets_registry.add(DEMO_PASSWORD)
    load()
    with FAST:
        for _persona, _name, email, _orgs in PEOPLE:
            assert authenticate(None, email=email, password=DEMO_PASSWORD) is not None, email
        client = Client()
        response = client.post(
            "/connexion/", {"email": "maire@saint-aubin.localhost", "password": DEMO_PASSWORD}
        )
    assert response.status_code == 302


def test_loading_twice_loads_once(db, secrets_registry):
    secrets_registry.add(DEMO_PASSWORD)
    load()
    counts = (Organisation.objects.count(), User.objects.count(), Space.objects.count())
    load()
    assert (Organisation.objects.count(), User.objects.count(), Space.objects.count()) == counts


def test_the_demo_council_has_a_conversation_the_maire_sees_and_an_outsider_does_not(db, secrets_registry):
    """`make demo` also loads a short conversation (load_demo_chat), once."""
    from parvis.chat.models import Message
    from parvis.chat.policies import messages_policy

    secrets_registry.add(DEMO_PASSWORD)
    load()
    for _ in range(2):
        call_command("load_demo_chat", stdout=io.StringIO())
    assert Message.objects.count() == 6
    maire = User.objects.get(email="maire@saint-aubin.localhost")
    julie = User.objects.get(email="julie.moreau@bureau-etudes.localhost")
    assert messages_policy.visible(maire).count() == 6
    assert messages_policy.visible(julie).count() == 0
    with FAST:
        client = Client()
        client.force_login(maire)
        secrets_registry.add(client.cookies["sessionid"].value)
        page = client.get("/o/saint-aubin/e/conseil-municipal/discussion/", follow=True)
    assert "convocation du conseil du 12 mars" in page.content.decode()
