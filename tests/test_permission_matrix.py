"""Every URL of the project × every persona, with the status each must get.

The list of URLs comes from the URL configuration itself: a new URL without an entry here makes
`test_every_url_has_an_entry_in_the_matrix` fail. For URLs inside an organisation, the same
request aimed at the *other* commune's objects must give 404 to everyone who is not a member
there (across organisations the answer is always 404). Every response also carries the security
headers (strict CSP, nosniff, Referrer-Policy).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from parvis.chat.tests import matrix as chat
from parvis.core.audit import Actor
from parvis.core.models import Group, Notification, OrgMembership, User, digest
from parvis.core.tests.factories import World, build_world
from parvis.documents.models import Document, Folder, ShareLink, Upload
from parvis.spaces.models import (
    AccessCode,
    Invitation,
    JoinRequest,
    Space,
    SpaceMembership,
    SpaceTab,
    SpaceTemplate,
)
from tests.support.files import png

PERSONAS = ("anonyme", "maire", "secretaire", "elu", "agent_rh", "dpo", "externe", "inconnu", "operateur")
SIGNED_IN = PERSONAS[1:]
ORG_A = ("maire", "secretaire", "elu", "agent_rh", "dpo", "externe")
LOGIN = "login"  # a redirect to the sign-in page


def url_names() -> set[str]:
    def walk(patterns: list[Any], namespace: str = "") -> set[str]:
        names = set()
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                names |= walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern) and p.name:
                names.add(namespace + p.name)
        return names

    return walk(get_resolver().url_patterns)


@dataclass
class Objects:
    """The world, plus a few objects some URLs need (a notification, a tab, an invitation…)."""

    w: World
    operateur: User
    notification: Notification
    tab: SpaceTab
    invitation_token: str
    invitation: Invitation
    join_request: JoinRequest
    other_tab: SpaceTab
    other_group: Group
    other_invitation: Invitation
    other_request: JoinRequest
    other_code: AccessCode
    other_template: SpaceTemplate
    docs: "DocumentObjects"
    other_docs: "DocumentObjects"


def make_objects() -> Objects:
    w = build_world()
    operateur = User.objects.create_user(
        "operateur@parvis.localhost", "x" * 16, full_name="Op", is_superuser=True
    )
    notification = Notification.objects.create(
        recipient=w.elu,
        organisation=w.org,
        kind="test",
        title="Bienvenue",
        url="/",
        frequency="never",
        email_state="skipped",
    )
    tab = SpaceTab.objects.create(user=w.elu, organisation=w.org, name="Commissions")
    other_tab = SpaceTab.objects.create(user=w.inconnu, organisation=w.other, name="Divers")
    token = "jeton-d-invitation-de-test-0123456789abcdef"
    invitation = Invitation.objects.create(
        organisation=w.org,
        email="nouvelle@exemple.localhost",
        org_role="member",
        qualite="agent",
        token_digest=digest(token),
        expires_at=timezone.now() + timezone.timedelta(days=3),
    )
    join_request = JoinRequest.objects.create(space=w.ecole, user=w.agent_rh)
    other_group = Group.objects.create(organisation=w.other, name="Direction")
    # The same kinds of objects in Val-de-Brume, for the cross-organisation answers.
    other_invitation = Invitation.objects.create(
        organisation=w.other,
        email="nouveau@val-de-brume.localhost",
        org_role="member",
        qualite="agent",
        token_digest=digest(token + "-b"),
        expires_at=timezone.now() + timezone.timedelta(days=3),
    )
    w.other_space.visibility = "on_request"
    w.other_space.save()
    requester = User.objects.create_user("habitant@val-de-brume.localhost", "x" * 16, full_name="Hab")
    OrgMembership.objects.create(organisation=w.other, user=requester)
    other_request = JoinRequest.objects.create(space=w.other_space, user=requester)
    other_code = AccessCode.objects.create(
        space=w.other_space,
        code_digest=digest("ZZZZZZZZZZZZ"),
        hint="ZZZZ",
        role="reader",
        expires_at=timezone.now() + timezone.timedelta(days=7),
        max_uses=5,
    )
    other_template = SpaceTemplate.objects.create(organisation=w.other, name="Commission")
    docs = document_objects(w.commission, w.maire, w.elu)
    other_docs = document_objects(w.other_space, w.inconnu, w.inconnu)
    return Objects(
        w,
        operateur,
        notification,
        tab,
        token,
        invitation,
        join_request,
        other_tab,
        other_group,
        other_invitation,
        other_request,
        other_code,
        other_template,
        docs,
        other_docs,
    )


@dataclass
class DocumentObjects:
    """In one space with the documents tool on: its top folder, a folder, an image in two
    versions, a document in the trash, share links to the image and to the folder, and an
    upload that `uploader` started."""

    root: Folder
    folder: Folder
    image: Document
    trashed: Document
    image_link: str
    folder_link: str
    upload: Upload
    link: ShareLink


def document_objects(space: Space, manager: User, uploader: User) -> DocumentObjects:
    from parvis.documents import actions as docs

    space.tools = ["documents"]
    space.save()
    actor = Actor(manager)
    root = docs.root_folder(space)
    folder = docs.create_folder(actor, root, "Budget")
    docs.store_bytes(actor, folder, "plan.png", png(colour=(200, 30, 30)))
    image = docs.store_bytes(actor, folder, "plan.png", png()).document
    trashed = docs.store_bytes(actor, folder, "brouillon.txt", b"brouillon").document
    docs.trash(actor, trashed)
    in_a_week = timezone.now() + timezone.timedelta(days=7)
    link, image_link = docs.create_share_link(actor, image, expires_at=in_a_week)
    _, folder_link = docs.create_share_link(actor, folder, expires_at=in_a_week)
    upload = docs.start_upload(Actor(uploader), folder, "gros-fichier.bin", 10_000)
    return DocumentObjects(root, folder, image, trashed, image_link, folder_link, upload, link)


def persona_user(o: Objects, persona: str) -> User | None:
    if persona == "anonyme":
        return None
    if persona == "operateur":
        return o.operateur
    return o.w.persona(persona)


def expect(default: int | str, **by_persona: int | str) -> dict[str, int | str]:
    return {p: by_persona.get(p, default) for p in PERSONAS}


def signed_in(status: int | str, **overrides: int | str) -> dict[str, int | str]:
    """login_required views: the anonymous visitor is sent to the sign-in page."""
    return expect(status, anonyme=LOGIN, **overrides)


def org_members(status: int | str, **overrides: int | str) -> dict[str, int | str]:
    """Views of organisation A: outsiders (inconnu, the operator) get 404."""
    return signed_in(status, inconnu=404, operateur=404, **overrides)


def org_admin_only() -> dict[str, int | str]:
    return org_members(403, secretaire=200)


def manager_of_commission(status: int = 200) -> dict[str, int | str]:
    """The private commission: maire manages it, secretaire administers the org, elu is a
    contributor; everyone else does not even see it."""
    return org_members(404, maire=status, secretaire=status, elu=403)


def commission_members(status: int | str = 200, **overrides: int | str) -> dict[str, int | str]:
    """Everyone with a role in the private commission: maire (facilitator), secretaire
    (administrator of the organisation), elu (contributor)."""
    return org_members(404, **({"maire": status, "secretaire": status, "elu": status} | overrides))


# GET on a POST-only view: 405 before any look-up, the same for an existing, a foreign or a
# missing object, so it reveals nothing.
POST_ONLY = signed_in(405)


@dataclass
class Entry:
    kwargs: Callable[[Objects], dict[str, Any]]
    get: dict[str, int | str]
    foreign: Callable[[Objects], dict[str, Any]] | None = None  # the same URL on commune B
    post: dict[str, int | str] | None = None  # POST with `data`, each persona from a fresh state
    data: Callable[[Objects], dict[str, Any]] = field(default=lambda o: {})


def org(o: Objects) -> dict[str, Any]:
    return {"org_slug": o.w.org.slug}


def other_org(o: Objects) -> dict[str, Any]:
    return {"org_slug": o.w.other.slug}


def commission(o: Objects) -> dict[str, Any]:
    return {"org_slug": o.w.org.slug, "space_slug": o.w.commission.slug}


def other_space(o: Objects) -> dict[str, Any]:
    return {"org_slug": o.w.other.slug, "space_slug": o.w.other_space.slug}


def with_pk(
    base: Callable[[Objects], dict[str, Any]], pk: Callable[[Objects], int]
) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {**base(o), "pk": pk(o)}


def nothing(o: Objects) -> dict[str, Any]:
    return {}


def doc_folder(pick: Callable[["DocumentObjects"], Folder]) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {**commission(o), "pk": pick(o.docs).pk}


def other_doc_folder(o: Objects) -> dict[str, Any]:
    return {**other_space(o), "pk": o.other_docs.folder.pk}


def doc_pk(pick: Callable[["DocumentObjects"], Document]) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {**commission(o), "pk": pick(o.docs).pk}


def other_doc_image(o: Objects) -> dict[str, Any]:
    return {**other_space(o), "pk": o.other_docs.image.pk}


def doc_item(kind: str, pick: Callable[["DocumentObjects"], Any]) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {**commission(o), "kind": kind, "pk": pick(o.docs).pk}


def other_doc_item(o: Objects) -> dict[str, Any]:
    return {**other_space(o), "kind": "fichier", "pk": o.other_docs.image.pk}


def doc_upload(
    pick: Callable[[Objects], "DocumentObjects"], place: Callable[[Objects], dict[str, Any]] = commission
) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {**place(o), "upload_id": pick(o).upload.pk}


def elu_membership(o: Objects) -> int:
    return OrgMembership.objects.get(organisation=o.w.org, user=o.w.elu).pk


def inconnu_membership(o: Objects) -> int:
    return OrgMembership.objects.get(organisation=o.w.other, user=o.w.inconnu).pk


def elu_in_commission(o: Objects) -> int:
    return SpaceMembership.objects.get(space=o.w.commission, user=o.w.elu).pk


def inconnu_in_other_space(o: Objects) -> int:
    return SpaceMembership.objects.get(space=o.w.other_space, user=o.w.inconnu).pk


MATRIX: dict[str, Entry] = {
    # --- Public and account pages
    "core:home": Entry(nothing, signed_in(302, operateur=302)),
    "core:accessibility": Entry(nothing, expect(200)),
    "core:login": Entry(nothing, expect(302, anonyme=200)),
    "core:login_second_factor": Entry(nothing, expect(302)),
    "core:logout": Entry(nothing, expect(405), post=expect(302)),
    "core:password_reset": Entry(nothing, expect(200)),
    "core:password_reset_done": Entry(nothing, expect(200)),
    "core:password_reset_confirm": Entry(lambda o: {"uidb64": "MQ", "token": "abc-def"}, expect(200)),
    "core:profile": Entry(nothing, signed_in(200)),
    "core:password_change": Entry(nothing, signed_in(200)),
    "core:security": Entry(nothing, signed_in(200)),
    "core:totp_enable": Entry(nothing, signed_in(200)),
    "core:totp_qr": Entry(nothing, signed_in(200)),
    "core:totp_disable": Entry(nothing, signed_in(405), post=signed_in(400)),
    "core:recovery_codes": Entry(nothing, signed_in(405), post=signed_in(302)),
    "core:sessions": Entry(nothing, signed_in(200)),
    "core:session_end_others": Entry(nothing, signed_in(405), post=signed_in(302)),
    "core:session_end": Entry(lambda o: {"public_id": "0" * 24}, signed_in(405), post=signed_in(404)),
    "core:app_passwords": Entry(nothing, signed_in(200)),
    "core:app_password_revoke": Entry(lambda o: {"pk": 999999}, signed_in(405), post=signed_in(404)),
    "core:notification_settings": Entry(nothing, signed_in(200)),
    "core:notifications": Entry(nothing, signed_in(200)),
    "core:notifications_read": Entry(nothing, signed_in(405), post=signed_in(302)),
    "core:notification_open": Entry(lambda o: {"pk": o.notification.pk}, signed_in(404, elu=302)),
    # --- Organisation administration
    "core:directory": Entry(org, org_members(200, externe=403), foreign=other_org),
    "core:admin_members": Entry(org, org_admin_only(), foreign=other_org),
    "core:admin_member": Entry(
        with_pk(org, elu_membership), org_admin_only(), foreign=with_pk(other_org, inconnu_membership)
    ),
    "core:admin_member_active": Entry(
        with_pk(org, elu_membership),
        POST_ONLY,
        foreign=with_pk(other_org, inconnu_membership),
        post=org_members(403, secretaire=302),
    ),
    "core:admin_groups": Entry(org, org_admin_only(), foreign=other_org),
    "core:admin_group_new": Entry(
        org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)
    ),
    "core:admin_group": Entry(
        with_pk(org, lambda o: o.w.direction.pk),
        org_admin_only(),
        foreign=with_pk(other_org, lambda o: o.other_group.pk),
    ),
    "core:admin_group_delete": Entry(
        with_pk(org, lambda o: o.w.direction.pk),
        POST_ONLY,
        foreign=with_pk(other_org, lambda o: o.other_group.pk),
        post=org_members(403, secretaire=302),
    ),
    "core:admin_audit": Entry(org, org_admin_only(), foreign=other_org),
    "core:admin_audit_csv": Entry(org, org_admin_only(), foreign=other_org),
    "core:admin_notifications": Entry(
        org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)
    ),
    # --- Operator
    "core:operator_organisations": Entry(nothing, signed_in(403, operateur=200)),
    "core:operator_organisation_new": Entry(
        nothing, signed_in(403, operateur=200), post=signed_in(403, operateur=400)
    ),
    "core:operator_organisation": Entry(lambda o: {"pk": o.w.org.pk}, signed_in(403, operateur=200)),
    "spaces:operator_first_admin": Entry(
        lambda o: {"pk": o.w.org.pk}, signed_in(403, operateur=200), post=signed_in(403, operateur=400)
    ),
    # --- Joining
    "spaces:invitation": Entry(lambda o: {"token": o.invitation_token}, expect(200)),
    "spaces:code_entry": Entry(nothing, expect(200), post=expect(400)),
    "spaces:code_sign_up": Entry(nothing, expect(302)),
    # --- Spaces of an organisation
    "spaces:my_spaces": Entry(org, org_members(200), foreign=other_org),
    "spaces:directory": Entry(org, org_members(200), foreign=other_org),
    "spaces:tabs": Entry(org, org_members(200), foreign=other_org, post=org_members(400)),
    "spaces:tab": Entry(
        with_pk(org, lambda o: o.tab.pk),
        org_members(404, elu=200),
        foreign=with_pk(other_org, lambda o: o.other_tab.pk),
    ),
    "spaces:tab_move": Entry(
        with_pk(org, lambda o: o.tab.pk),
        POST_ONLY,
        foreign=with_pk(other_org, lambda o: o.other_tab.pk),
        post=org_members(404, elu=302),
        data=lambda o: {"direction": "up"},
    ),
    "spaces:tab_delete": Entry(
        with_pk(org, lambda o: o.tab.pk),
        POST_ONLY,
        foreign=with_pk(other_org, lambda o: o.other_tab.pk),
        post=org_members(404, elu=302),
    ),
    "spaces:create": Entry(org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)),
    "spaces:batch": Entry(org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)),
    # --- One space (the private commission)
    "spaces:detail": Entry(
        commission, org_members(404, maire=200, secretaire=200, elu=200), foreign=other_space
    ),
    "spaces:settings": Entry(
        commission, manager_of_commission(), foreign=other_space, post=manager_of_commission(400)
    ),
    "spaces:archive": Entry(
        commission,
        POST_ONLY,
        foreign=other_space,
        post=manager_of_commission(302),
        data=lambda o: {"archive": "1"},
    ),
    "spaces:save_template": Entry(
        commission,
        POST_ONLY,
        foreign=other_space,
        post=org_members(404, maire=403, secretaire=302, elu=403),
        data=lambda o: {"name": "Modèle commission"},
    ),
    "spaces:join": Entry(
        commission, POST_ONLY, foreign=other_space, post=org_members(404, maire=403, secretaire=403, elu=403)
    ),
    "spaces:leave": Entry(
        commission, POST_ONLY, foreign=other_space, post=org_members(404, maire=302, secretaire=403, elu=302)
    ),
    "spaces:frequency": Entry(
        commission,
        POST_ONLY,
        foreign=other_space,
        post=org_members(404, maire=302, secretaire=302, elu=302),
        data=lambda o: {"frequency": "daily"},
    ),
    "spaces:members": Entry(
        commission,
        org_members(404, maire=200, secretaire=200, elu=200),
        foreign=other_space,
        post=manager_of_commission(400),
    ),
    "spaces:member": Entry(
        with_pk(commission, elu_in_commission),
        POST_ONLY,
        foreign=with_pk(other_space, inconnu_in_other_space),
        post=manager_of_commission(302),
        data=lambda o: {"role": "reader"},
    ),
    "spaces:groups": Entry(
        commission, manager_of_commission(), foreign=other_space, post=manager_of_commission(400)
    ),
    "spaces:requests": Entry(commission, manager_of_commission(), foreign=other_space),
    "spaces:request": Entry(
        lambda o: {"org_slug": o.w.org.slug, "space_slug": o.w.ecole.slug, "pk": o.join_request.pk},
        POST_ONLY,
        foreign=with_pk(other_space, lambda o: o.other_request.pk),
        post=org_members(403, maire=302, secretaire=302, agent_rh=403, dpo=403, elu=403, externe=403),
        data=lambda o: {"decision": "approve", "role": "reader"},
    ),
    "spaces:codes": Entry(
        commission, manager_of_commission(), foreign=other_space, post=manager_of_commission(400)
    ),
    "spaces:code_revoke": Entry(
        lambda o: {"org_slug": o.w.org.slug, "space_slug": o.w.ecole.slug, "pk": o.w.access_code.pk},
        POST_ONLY,
        foreign=with_pk(other_space, lambda o: o.other_code.pk),
        post=org_members(403, maire=302, secretaire=302, externe=403),
    ),
    # --- Organisation administration held by the spaces app
    "spaces:invitations": Entry(
        org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)
    ),
    "spaces:invitation_revoke": Entry(
        with_pk(org, lambda o: o.invitation.pk),
        POST_ONLY,
        foreign=with_pk(other_org, lambda o: o.other_invitation.pk),
        post=org_members(404, secretaire=302),
    ),
    "spaces:templates": Entry(org, org_admin_only(), foreign=other_org),
    "spaces:template_new": Entry(
        org, org_admin_only(), foreign=other_org, post=org_members(403, secretaire=400)
    ),
    "spaces:template": Entry(
        with_pk(org, lambda o: o.w.template.pk),
        org_admin_only(),
        foreign=with_pk(other_org, lambda o: o.other_template.pk),
    ),
    "spaces:template_delete": Entry(
        with_pk(org, lambda o: o.w.template.pk),
        POST_ONLY,
        foreign=with_pk(other_org, lambda o: o.other_template.pk),
        post=org_members(403, secretaire=302),
    ),
    # --- Documents of a space (the private commission)
    "documents:home": Entry(commission, commission_members(), foreign=other_space),
    "documents:folder": Entry(doc_folder(lambda d: d.folder), commission_members(), foreign=other_doc_folder),
    "documents:folder_new": Entry(
        doc_folder(lambda d: d.folder),
        POST_ONLY,
        foreign=other_doc_folder,
        post=commission_members(302),
        data=lambda o: {"name": "Nouveau dossier"},
    ),
    "documents:folder_access": Entry(
        doc_folder(lambda d: d.folder), commission_members(), foreign=other_doc_folder
    ),
    "documents:folder_rights": Entry(
        doc_folder(lambda d: d.folder),
        manager_of_commission(),
        foreign=other_doc_folder,
        post=manager_of_commission(302),
        data=lambda o: {"restricted": "on", f"group_{o.w.direction.pk}": "read"},
    ),
    "documents:folder_subscribe": Entry(
        doc_folder(lambda d: d.folder),
        POST_ONLY,
        foreign=other_doc_folder,
        post=commission_members(302),
        data=lambda o: {"on": "1"},
    ),
    "documents:folder_zip": Entry(
        doc_folder(lambda d: d.folder), commission_members(), foreign=other_doc_folder
    ),
    "documents:upload": Entry(
        doc_folder(lambda d: d.folder),
        POST_ONLY,
        foreign=other_doc_folder,
        post=commission_members(302),
        data=lambda o: {"files": SimpleUploadedFile("note.txt", b"Ordre du jour")},
    ),
    "documents:upload_start": Entry(
        doc_folder(lambda d: d.folder),
        POST_ONLY,
        foreign=other_doc_folder,
        post=commission_members(201),
        data=lambda o: {"name": "video.mp4", "size": "20000000"},
    ),
    "documents:upload_part": Entry(
        doc_upload(lambda o: o.docs),
        commission_members(404, elu=200),
        foreign=doc_upload(lambda o: o.other_docs, other_space),
        post=signed_in(405),
    ),
    "documents:upload_finish": Entry(
        doc_upload(lambda o: o.docs),
        POST_ONLY,
        foreign=doc_upload(lambda o: o.other_docs, other_space),
        post=commission_members(404, elu=409),
    ),
    "documents:document": Entry(doc_pk(lambda d: d.image), commission_members(), foreign=other_doc_image),
    "documents:download": Entry(doc_pk(lambda d: d.image), commission_members(), foreign=other_doc_image),
    "documents:preview": Entry(doc_pk(lambda d: d.image), commission_members(), foreign=other_doc_image),
    "documents:thumbnail": Entry(doc_pk(lambda d: d.image), commission_members(), foreign=other_doc_image),
    "documents:lock": Entry(
        doc_pk(lambda d: d.image),
        POST_ONLY,
        foreign=other_doc_image,
        post=commission_members(302),
        data=lambda o: {"on": "1"},
    ),
    "documents:version_restore": Entry(
        lambda o: {**doc_pk(lambda d: d.image)(o), "number": 1},
        POST_ONLY,
        foreign=lambda o: {**other_doc_image(o), "number": 1},
        post=commission_members(302),
    ),
    "documents:rename": Entry(
        doc_item("fichier", lambda d: d.image),
        commission_members(),
        foreign=other_doc_item,
        post=commission_members(302),
        data=lambda o: {"name": "plan-masse.png"},
    ),
    "documents:move": Entry(
        doc_item("fichier", lambda d: d.image),
        commission_members(),
        foreign=other_doc_item,
        post=commission_members(302),
        data=lambda o: {"target": o.docs.root.pk},
    ),
    "documents:copy": Entry(
        doc_item("fichier", lambda d: d.image),
        commission_members(),
        foreign=other_doc_item,
        post=commission_members(302),
        data=lambda o: {"target": o.docs.root.pk},
    ),
    "documents:delete": Entry(
        doc_item("fichier", lambda d: d.image),
        POST_ONLY,
        foreign=other_doc_item,
        post=commission_members(302),
    ),
    "documents:favourite": Entry(
        doc_item("fichier", lambda d: d.image),
        POST_ONLY,
        foreign=other_doc_item,
        post=commission_members(302),
        data=lambda o: {"on": "1"},
    ),
    "documents:share": Entry(
        doc_item("fichier", lambda d: d.image),
        commission_members(),
        foreign=other_doc_item,
        post=commission_members(200),
        data=lambda o: {"expires_on": (timezone.localdate() + timezone.timedelta(days=3)).isoformat()},
    ),
    "documents:share_revoke": Entry(
        lambda o: {**commission(o), "pk": o.docs.link.pk},
        POST_ONLY,
        foreign=lambda o: {**other_space(o), "pk": o.other_docs.link.pk},
        post=commission_members(302),
    ),
    "documents:trash": Entry(commission, commission_members(), foreign=other_space),
    "documents:trash_restore": Entry(
        doc_item("fichier", lambda d: d.trashed),
        POST_ONLY,
        foreign=lambda o: {**other_space(o), "kind": "fichier", "pk": o.other_docs.trashed.pk},
        post=commission_members(302),
    ),
    "documents:trash_purge": Entry(
        doc_item("fichier", lambda d: d.trashed),
        POST_ONLY,
        foreign=lambda o: {**other_space(o), "kind": "fichier", "pk": o.other_docs.trashed.pk},
        post=manager_of_commission(302),
    ),
    "documents:search": Entry(commission, commission_members(), foreign=other_space),
    # --- Documents across the organisation's spaces
    "documents:org_search": Entry(org, org_members(200), foreign=other_org),
    "documents:recent": Entry(org, org_members(200), foreign=other_org),
    "documents:favourites": Entry(org, org_members(200), foreign=other_org),
    "documents:admin": Entry(
        org,
        org_admin_only(),
        foreign=other_org,
        post=org_members(403, secretaire=302),
        data=lambda o: {"days": "60"},
    ),
    # --- Share links: public, for whoever holds the link
    "documents:share_page": Entry(lambda o: {"token": o.docs.image_link}, expect(200), post=expect(200)),
    "documents:share_download": Entry(lambda o: {"token": o.docs.image_link}, expect(200)),
    "documents:share_file": Entry(
        lambda o: {"token": o.docs.folder_link, "pk": o.docs.image.pk}, expect(200)
    ),
    "documents:share_zip": Entry(lambda o: {"token": o.docs.folder_link}, expect(200)),
    # --- Chat: the private commission's channel (maire facilitates, secretaire administers, elu
    # contributes and wrote its message), the maire and elu's private conversation, and the same
    # objects in Val-de-Brume. Pages are GET only: a POST gets 405 before any look-up.
    "chat:home": Entry(chat.space, commission_members(302), foreign=chat.other_space, post=signed_in(405)),
    "chat:channel_new": Entry(
        chat.space,
        commission_members(),
        foreign=chat.other_space,
        post=commission_members(302),
        data=lambda o: {"name": "Travaux"},
    ),
    "chat:search": Entry(chat.space, commission_members(), foreign=chat.other_space, post=signed_in(405)),
    "chat:channel": Entry(
        chat.channel, commission_members(), foreign=chat.other_channel, post=signed_in(405)
    ),
    "chat:direct_list": Entry(chat.org, org_members(200), foreign=chat.other_org, post=signed_in(405)),
    "chat:direct_new": Entry(
        chat.org,
        POST_ONLY,
        foreign=chat.other_org,
        post=org_members(302, maire=400),
        data=chat.write_to_maire,
    ),
    "chat:direct": Entry(
        chat.direct, org_members(404, maire=200, elu=200), foreign=chat.other_direct, post=signed_in(405)
    ),
    "chat:org_search": Entry(chat.org, org_members(200), foreign=chat.other_org, post=signed_in(405)),
    "chat:preview": Entry(chat.org, org_members(204), foreign=chat.other_org, post=signed_in(405)),
    "chat:post": Entry(
        chat.conversation,
        POST_ONLY,
        foreign=chat.other_conversation,
        post=commission_members(302),
        data=lambda o: {"body": "Bonjour"},
    ),
    "chat:read": Entry(
        chat.conversation, POST_ONLY, foreign=chat.other_conversation, post=commission_members(302)
    ),
    "chat:export": Entry(
        chat.conversation, manager_of_commission(), foreign=chat.other_conversation, post=signed_in(405)
    ),
    "chat:thread": Entry(chat.message, commission_members(), foreign=chat.other_message, post=signed_in(405)),
    "chat:edit": Entry(
        chat.message,
        POST_ONLY,
        foreign=chat.other_message,
        post=commission_members(403, elu=302),
        data=lambda o: {"body": "Ordre du jour corrigé"},
    ),
    "chat:delete": Entry(chat.message, POST_ONLY, foreign=chat.other_message, post=commission_members(302)),
    "chat:react": Entry(
        chat.message,
        POST_ONLY,
        foreign=chat.other_message,
        post=commission_members(302),
        data=lambda o: {"emoji": "👍"},
    ),
    # --- OIDC (not configured here: absent)
    "oidc_authentication_init": Entry(nothing, expect(404)),
    "oidc_authentication_callback": Entry(nothing, expect(404)),
}


# --- The tests ----------------------------------------------------------------------------------

FOREIGN_VISITORS = ("maire", "secretaire", "elu", "agent_rh", "externe")  # dpo belongs to both


def client_as(o: Objects, persona: str) -> Client:
    client = Client()
    user = persona_user(o, persona)
    if user is not None:
        client.force_login(user)
    return client


def verdict(response: Any, expected: int | str) -> str | None:
    """None if the response is what was expected, else a short description of the difference."""
    if expected == LOGIN:
        ok = response.status_code == 302 and response["Location"].startswith(reverse("core:login"))
        return None if ok else f"expected a redirect to sign in, got {response.status_code}"
    if response.status_code != expected:
        return f"expected {expected}, got {response.status_code}"
    return None


def cookie_flags_missing(response: Any) -> list[str]:
    """Session and CSRF cookies: HttpOnly and SameSite=Lax whenever they are set."""
    missing = []
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        morsel = response.cookies.get(name)
        if morsel is None or not morsel.value:  # not set, or deleted (sign-out)
            continue
        if not morsel["httponly"]:
            missing.append(f"{name} HttpOnly")
        if morsel["samesite"] != "Lax":
            missing.append(f"{name} SameSite=Lax")
    return missing


def security_headers_missing(response: Any) -> list[str]:
    csp = response.get("Content-Security-Policy", "")
    wanted = {
        "CSP object-src 'none'": "object-src 'none'" in csp,
        "CSP base-uri 'none'": "base-uri 'none'" in csp,
        "CSP frame-ancestors 'none'": "frame-ancestors 'none'" in csp,
        "CSP without unsafe-inline": "unsafe-inline" not in csp and "unsafe-eval" not in csp,
        "nosniff": response.get("X-Content-Type-Options") == "nosniff",
        "Referrer-Policy": response.get("Referrer-Policy") == "same-origin",
    }
    return [name for name, present in wanted.items() if not present] + cookie_flags_missing(response)


def run(
    o: Objects,
    method: str,
    url: str,
    expected: dict[str, int | str],
    data: Callable[[Objects], dict[str, Any]],
    personas: tuple[str, ...] = PERSONAS,
) -> list[str]:
    """Each persona from the same starting state: a savepoint is rolled back after each one.
    The data is made afresh for each (an uploaded file is read once)."""
    failures = []
    for persona in personas:
        savepoint = transaction.savepoint()
        try:
            client = client_as(o, persona)
            response = client.post(url, data(o)) if method == "POST" else client.get(url)
            problem = verdict(response, expected[persona])
            if problem:
                failures.append(f"{method} {url} as {persona}: {problem}")
            missing = security_headers_missing(response)
            if missing:
                failures.append(f"{method} {url} as {persona}: missing {missing}")
        finally:
            transaction.savepoint_rollback(savepoint)
    return failures


def test_every_url_has_an_entry_in_the_matrix() -> None:
    names = url_names()
    assert sorted(names - MATRIX.keys()) == [], "URLs without an entry in the permission matrix"
    assert sorted(MATRIX.keys() - names) == [], "entries for URLs that no longer exist"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_persona_gets_the_expected_answer(name: str, db: None) -> None:
    o = make_objects()
    entry = MATRIX[name]
    url = reverse(name, kwargs=entry.kwargs(o))
    failures = run(o, "GET", url, entry.get, nothing)
    if entry.post is not None:
        failures += run(o, "POST", url, entry.post, entry.data)
    assert failures == []


@pytest.mark.parametrize("name", sorted(n for n, e in MATRIX.items() if e.foreign))
def test_the_other_communes_objects_are_always_not_found(name: str, db: None) -> None:
    o = make_objects()
    entry = MATRIX[name]
    assert entry.foreign is not None
    url = reverse(name, kwargs=entry.foreign(o))
    not_found = expect(404)
    failures = []
    if entry.get is not POST_ONLY:
        failures += run(o, "GET", url, not_found, nothing, FOREIGN_VISITORS)
    never_posted = entry.post is not None and {entry.post[p] for p in SIGNED_IN} == {405}
    if not never_posted:  # a 405 before any look-up reveals nothing either
        failures += run(o, "POST", url, not_found, entry.data, FOREIGN_VISITORS)
    assert failures == []


def test_static_files_carry_the_same_security_headers(db: None) -> None:
    response = Client().get("/static/favicon.svg")
    assert response.status_code == 200
    assert security_headers_missing(response) == []


def test_not_yours_looks_exactly_like_does_not_exist(db: None) -> None:
    o = make_objects()
    client = client_as(o, "elu")
    foreign = client.get(reverse("spaces:detail", args=[o.w.other.slug, o.w.other_space.slug]))
    missing = client.get(reverse("spaces:detail", args=["nulle-part", "rien"]))
    private = client.get(reverse("spaces:detail", args=[o.w.org.slug, o.w.rh.slug]))
    assert foreign.status_code == missing.status_code == private.status_code == 404

    def page(response: Any) -> str:  # CSRF tokens are masked differently on each render
        token = r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+'
        return re.sub(token, r"\1", response.content.decode())

    assert page(foreign) == page(missing) == page(private)
