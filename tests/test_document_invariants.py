"""The rights of the GED, checked on random worlds: for each documents policy, `visible()` is
exactly what `can(view)` allows; `writable()` is exactly what `can(change)` allows; a folder one
sees has every folder above it visible too; and "Qui a accès ?" gives each person the very level
`folder_level()` computes.

Hypothesis builds random communes, people, roles, groups and spaces (as for the other policies),
then random folder trees in those spaces (the documents tool on or off), restricted folders with
lists of people and groups at read or write, documents (some locked), share links, and things
deleted into the trash.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from parvis.core.models import Group, User
from parvis.documents.access import who_has_access
from parvis.documents.models import Blob, Document, Folder, FolderAccess, Level, ShareLink, Version
from parvis.documents.policies import (
    documents_policy,
    folder_level,
    folders_policy,
    share_links_policy,
    trash_policy,
    versions_policy,
)
from parvis.spaces.models import Space
from tests.test_policy_invariants import EXAMPLES, MAX_USERS, build, world_specs

MAX_FOLDERS = 6

tree_specs = st.lists(  # one list per space
    st.fixed_dictionaries(
        {
            "tool": st.booleans(),
            "folders": st.lists(
                st.tuples(
                    st.integers(0, MAX_FOLDERS),  # parent: 0 is the root, n the n-th folder made
                    st.booleans(),  # restricted?
                    st.lists(
                        st.tuples(
                            st.booleans(), st.integers(0, MAX_USERS - 1), st.sampled_from(Level.values)
                        ),
                        max_size=3,
                    ),  # (a group rather than a person?, which, level)
                    st.booleans(),  # deleted?
                ),
                max_size=MAX_FOLDERS,
            ),
            "documents": st.lists(
                st.tuples(st.integers(0, MAX_FOLDERS), st.booleans(), st.integers(-1, MAX_USERS - 1)),
                max_size=5,
            ),  # (folder, deleted?, locked by)
        }
    ),
    max_size=5,
)


def build_trees(trees: list[dict[str, Any]], users: list[User]) -> None:
    blob = Blob.objects.create(sha256="0" * 64, size=1)
    later = timezone.now() + timezone.timedelta(days=1)
    for space, tree in zip(Space.objects.order_by("pk"), trees, strict=False):
        space.tools = ["documents"] if tree["tool"] else []
        space.save()
        root = Folder.objects.create(space=space, name=space.name)
        root.path = f"/{root.pk}/"
        root.save()
        folders = [root]
        groups = list(Group.objects.filter(organisation=space.organisation).order_by("pk"))
        for n, (parent_index, restricted, lines, deleted) in enumerate(tree["folders"]):
            parent = folders[min(parent_index, len(folders) - 1)]
            folder = Folder.objects.create(space=space, parent=parent, name=f"F{n}", restricted=restricted)
            folder.path = f"{parent.path}{folder.pk}/"
            folder.save()
            for is_group, which, level in lines:
                if is_group and which < len(groups):
                    FolderAccess.objects.get_or_create(
                        folder=folder, group=groups[which], defaults={"level": level}
                    )
                elif not is_group and which < len(users):
                    FolderAccess.objects.get_or_create(
                        folder=folder, user=users[which], defaults={"level": level}
                    )
            folders.append(folder)
            if deleted:  # with everything below it, as actions.trash does
                Folder.objects.filter(path__startswith=folder.path).update(deleted_at=timezone.now())
                Folder.objects.filter(pk=folder.pk).update(trash_root=True)
        for n, (folder_index, deleted, locker) in enumerate(tree["documents"]):
            folder = Folder.objects.get(pk=folders[min(folder_index, len(folders) - 1)].pk)
            document = Document.objects.create(
                space=space,
                folder=folder,
                name=f"D{n}",
                locked_by=users[locker] if 0 <= locker < len(users) else None,
                deleted_at=timezone.now() if deleted or folder.in_trash else None,
                trash_root=deleted and not folder.in_trash,
            )
            version = Version.objects.create(document=document, number=1, blob=blob, size=1, status="clean")
            Document.objects.filter(pk=document.pk).update(current=version)
            ShareLink.objects.create(
                token_digest=f"{document.pk:064d}",
                hint="abcd",
                space=space,
                document=document,
                expires_at=later,
            )


def mismatches(users: list[User]) -> list[str]:
    found = []
    people: list[Any] = [AnonymousUser(), *User.objects.filter(pk__in=[u.pk for u in users])]
    folders = list(Folder.objects.select_related("space__organisation"))
    documents = list(Document.objects.select_related("space__organisation", "folder"))
    checks = [
        ("folders", folders_policy.visible, lambda p, f: folders_policy.can(p, "view", f), folders),
        (
            "writable folders",
            folders_policy.writable,
            lambda p, f: folders_policy.can(p, "change", f),
            folders,
        ),
        ("documents", documents_policy.visible, lambda p, d: documents_policy.can(p, "view", d), documents),
        (
            "versions",
            versions_policy.visible,
            lambda p, v: versions_policy.can(p, "view", v),
            list(Version.objects.all()),
        ),
        ("trash", trash_policy.visible, lambda p, d: trash_policy.can(p, "view", d), documents),
        (
            "share links",
            share_links_policy.visible,
            lambda p, s: share_links_policy.can(p, "view", s),
            list(ShareLink.objects.all()),
        ),
    ]
    for person in people:
        for name, visible, can, everything in checks:
            listed = list(visible(person).values_list("pk", flat=True))
            allowed = {obj.pk for obj in everything if can(person, obj)}
            if len(listed) != len(set(listed)):
                found.append(f"{name}: duplicates for {person}")
            if set(listed) != allowed:
                found.append(f"{name} for {person}: visible {sorted(set(listed))} but can {sorted(allowed)}")
        seen = set(folders_policy.visible(person).values_list("pk", flat=True))
        for folder in folders:
            if folder.pk in seen and not set(folder.ancestor_ids()) <= seen:
                found.append(f"{person} sees folder {folder.pk} but not all the folders above it")
    for folder in folders:
        if folder.in_trash:
            continue
        listed = {a.user.pk: a.level for a in who_has_access(folder)}
        for person in people[1:]:
            level = folder_level(person, folder)
            if listed.get(person.pk) != level:
                found.append(
                    f"Qui a accès ? gives {person} {listed.get(person.pk)} on {folder.pk}, "
                    f"folder_level {level}"
                )
    return found


class DocumentRightsAreConsistent(TestCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world_specs, tree_specs)
    def test_lists_levels_and_explanations_agree(
        self, spec: dict[str, Any], trees: list[dict[str, Any]]
    ) -> None:
        users = build(spec)
        build_trees(trees, users)
        assert mismatches(users) == []
