"""WebDAV's rights are the web's: for every persona and every folder and document of a GED with
nested restrictions, an archived space and a space whose downloads are blocked, what the DAV
tree resolves (visible, writable, downloadable) is exactly what the documents policies say.
"""

import pytest
from django.utils import timezone

from parvis.core.audit import Actor
from parvis.core.tests.factories import World
from parvis.documents import actions
from parvis.documents.actions import Grant
from parvis.documents.models import Document, Folder
from parvis.documents.policies import documents_policy, folders_policy
from parvis.documents.webdav.tree import DavContext, FileNode, FolderNode, Refused
from parvis.spaces.models import Space
from tests.support.dav import seed


def dav_path(folder: Folder, names: dict[int, str]) -> str:
    space = folder.space
    below_root = [names[pk] for pk in folder.ancestor_ids()[1:]]
    return "/".join(["", space.organisation.slug, space.slug, *below_root])


def a_ged_with_every_case() -> World:
    world, _seeded = seed()
    maire = Actor(world.maire)
    deliberations = Folder.objects.get(name="Délibérations")
    commission = actions.create_folder(maire, deliberations, "Commission RH")
    actions.set_restriction(maire, commission, True, [Grant(None, world.rh_group, "write")])
    inside = actions.create_folder(maire, commission, "Interne")
    actions.set_restriction(maire, inside, True, [Grant(world.agent_rh, None, "read")])
    actions.store_bytes(maire, inside, "dossier-agent.txt", b"confidentiel")
    finances = actions.create_folder(maire, actions.root_folder(world.commission), "Budget 2026")
    actions.store_bytes(maire, finances, "budget.ods", b"budget")
    actions.store_bytes(maire, actions.root_folder(world.ecole), "plan.pdf", b"plan")
    actions.store_bytes(Actor(world.agent_rh), actions.root_folder(world.rh), "contrat.pdf", b"contrat")
    Space.objects.filter(pk=world.commission.pk).update(archived_at=timezone.now())
    Space.objects.filter(pk=world.ecole.pk).update(block_downloads=True)
    return world


@pytest.mark.parametrize("persona", World.PERSONAS)
def test_the_dav_tree_gives_each_persona_exactly_the_rights_of_the_policies(db: None, persona: str) -> None:
    world = a_ged_with_every_case()
    user = world.persona(persona)
    names = dict(Folder.objects.values_list("pk", "name"))
    folders = Folder.objects.filter(deleted_at__isnull=True).select_related("space__organisation")
    want, got = {}, {}
    for folder in folders:
        path = dav_path(folder, names)
        context = DavContext(user)
        try:
            node = context.resolve(path)
        except Refused:
            node = None
        want[path] = (folders_policy.can(user, "view", folder), folders_policy.can(user, "change", folder))
        got[path] = (isinstance(node, FolderNode), isinstance(node, FolderNode) and node.writable)
        for doc in Document.objects.filter(folder=folder, deleted_at__isnull=True):
            file_path = f"{path}/{doc.name}"
            try:
                found = DavContext(user).resolve(file_path)
            except Refused:
                found = None
            want[file_path] = tuple(
                documents_policy.can(user, a, doc) for a in ("view", "change", "download")
            )
            got[file_path] = (
                isinstance(found, FileNode),
                isinstance(found, FileNode) and found.writable and not found.locked_by_other(user),
                isinstance(found, FileNode) and found.downloadable,
            )
    space_2fa = [p for p in want if p.startswith("/saint-aubin/rh")]
    assert space_2fa == ["/saint-aubin/rh", "/saint-aubin/rh/contrat.pdf"]
    for path in space_2fa:  # nobody here has a second factor: the web's views refuse them too
        want[path] = tuple(False for _ in want[path])
    assert got == want
