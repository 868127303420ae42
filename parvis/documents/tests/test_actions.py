"""The writes of the GED: versions, trash and restore, move and copy, locks, quotas, folder
subscriptions, favourites, the purge of the trash and of unused bytes, and the journal."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from conftest import french
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent, Notification
from parvis.documents import actions
from parvis.documents.actions import DocumentError, Grant
from parvis.documents.models import Blob, Document, Folder, Level, Version
from parvis.documents.policies import documents_policy
from parvis.documents.storage import blob_store
from parvis.spaces import actions as space_actions


def test_a_file_with_a_name_already_there_becomes_its_new_version(docs):
    first = docs.store("maire", docs.budget, "budget.ods", b"v1")
    second = docs.store("elu", docs.budget, "budget.ods", b"v2")
    assert second == first
    versions = list(first.versions.order_by("number").values_list("number", "size", "uploaded_by"))
    assert versions == [(1, 2, docs.w.maire.pk), (2, 2, docs.w.elu.pk)]
    first.refresh_from_db()
    assert first.current.number == 2
    with blob_store().open(first.current.sha256) as f:
        assert f.read() == b"v2"


def test_any_version_can_be_restored_and_the_history_is_kept(docs):
    doc = docs.store("maire", docs.budget, "budget.ods", b"v1")
    docs.store("maire", docs.budget, "budget.ods", b"v2")
    old = doc.versions.get(number=1)
    restored = actions.restore_version(Actor(docs.w.elu), old)
    assert restored.number == 3
    assert restored.sha256 == old.sha256
    assert doc.versions.count() == 3


def test_the_same_content_is_stored_once(docs):
    docs.store("maire", docs.budget, "a.txt", b"identique")
    docs.store("maire", docs.root, "b.txt", b"identique")
    assert Blob.objects.count() == 1


def test_a_deleted_folder_goes_to_the_trash_with_its_content_and_comes_back_with_its_rights(docs):
    inner = docs.folder("maire", docs.budget, "2026")
    doc = docs.store("maire", inner, "primitif.pdf")
    actions.set_restriction(Actor(docs.w.maire), inner, True, [Grant(None, docs.w.direction, Level.READ)])
    actions.trash(Actor(docs.w.maire), docs.budget)
    assert not documents_policy.visible(docs.w.maire).filter(pk=doc.pk).exists()
    assert Folder.objects.get(pk=docs.budget.pk).trash_root
    assert not Folder.objects.get(pk=inner.pk).trash_root  # it went with its folder
    actions.restore(Actor(docs.w.elu), Folder.objects.get(pk=docs.budget.pk))
    inner.refresh_from_db()
    assert not inner.in_trash
    assert inner.restricted
    assert list(inner.accesses.values_list("group", "level")) == [(docs.w.direction.pk, Level.READ)]
    assert documents_policy.visible(docs.w.maire).filter(pk=doc.pk).exists()


def test_a_restored_item_whose_name_was_taken_meanwhile_gets_a_new_one(docs):
    doc = docs.store("maire", docs.budget, "note.txt", b"ancienne")
    actions.trash(Actor(docs.w.maire), doc)
    docs.store("maire", docs.budget, "note.txt", b"nouvelle")
    actions.restore(Actor(docs.w.maire), Document.objects.get(pk=doc.pk))
    names = sorted(
        Document.objects.filter(folder=docs.budget, deleted_at__isnull=True).values_list("name", flat=True)
    )
    assert names == ["note (2).txt", "note.txt"]


def test_a_document_restored_after_its_folder_was_deleted_goes_to_the_top_folder(docs):
    doc = docs.store("maire", docs.budget, "note.txt")
    actions.trash(Actor(docs.w.maire), doc)
    actions.trash(Actor(docs.w.maire), docs.budget)
    place = actions.restore(Actor(docs.w.maire), Document.objects.get(pk=doc.pk))
    assert place == docs.root
    assert Document.objects.get(pk=doc.pk).folder == docs.root


def test_the_trash_is_purged_after_the_retention_the_organisation_chose(docs, settings):
    settings.PARVIS_CLAMAV = ""
    doc = docs.store("maire", docs.budget, "vieux.txt", b"vieux")
    sha = doc.current.sha256
    actions.trash(Actor(docs.w.maire), doc)
    docs.w.org.trash_retention_days = 30
    docs.w.org.save()
    assert actions.purge_expired(timezone.now() + datetime.timedelta(days=29)) == 0
    assert actions.purge_expired(timezone.now() + datetime.timedelta(days=31)) == 1
    assert not Document.objects.filter(pk=doc.pk).exists()
    assert AuditEvent.objects.filter(action="documents.trash_expired").count() == 1
    # The bytes nothing points to any more go at the next clean-up, after a grace time.
    assert blob_store().exists(sha)
    assert actions.collect_garbage(grace=datetime.timedelta(0)) == 1
    assert not blob_store().exists(sha)


def test_bytes_still_used_by_another_version_are_kept(docs):
    docs.store("maire", docs.budget, "a.txt", b"commun")
    other = docs.store("maire", docs.root, "b.txt", b"commun")
    actions.trash(Actor(docs.w.maire), other)
    actions.purge(Actor(docs.w.maire), Document.objects.get(pk=other.pk))
    assert actions.collect_garbage(grace=datetime.timedelta(0)) == 0
    assert Blob.objects.count() == 1


def test_a_moved_folder_takes_the_restrictions_of_its_new_place(docs):
    secret = docs.folder("maire", docs.root, "Confidentiel")
    actions.set_restriction(Actor(docs.w.maire), secret, True, [Grant(None, docs.w.direction, Level.WRITE)])
    moving = docs.folder("maire", docs.budget, "Paie")
    below = docs.folder("maire", moving, "2026")
    actions.move(Actor(docs.w.maire), moving, secret)
    below.refresh_from_db()
    assert below.path == f"{secret.path}{moving.pk}/{below.pk}/"
    assert not documents_policy.visible(docs.w.elu).filter(folder=below).exists()
    from parvis.documents.policies import folder_level

    assert folder_level(docs.w.elu, below) is None


def test_a_folder_cannot_go_inside_itself_and_nothing_moves(docs):
    inner = docs.folder("maire", docs.budget, "2026")
    with pytest.raises(DocumentError) as refused:
        actions.move(Actor(docs.w.maire), docs.budget, inner)
    assert refused.value.message == french("A folder cannot go inside itself.").replace("&#x27;", "'")
    docs.budget.refresh_from_db()
    assert docs.budget.parent == docs.root


def test_a_copy_shares_the_bytes_and_copies_the_tree(docs):
    inner = docs.folder("maire", docs.budget, "2026")
    docs.store("maire", inner, "primitif.pdf", b"%PDF")
    copied = actions.copy(Actor(docs.w.maire), docs.budget, docs.root, "Budget (archive)")
    assert isinstance(copied, Folder)
    copied_doc = Document.objects.get(folder__parent=copied, name="primitif.pdf")
    assert copied_doc.current.sha256 == Document.objects.get(folder=inner).current.sha256
    assert Blob.objects.count() == 1


def test_a_locked_document_is_changed_by_nobody_else(docs):
    doc = docs.store("maire", docs.budget, "rapport.odt")
    actions.set_lock(Actor(docs.w.maire), doc, True)
    doc.refresh_from_db()
    assert not documents_policy.can(docs.w.elu, "change", doc)
    with pytest.raises(DocumentError) as refused:
        docs.store("elu", docs.budget, "rapport.odt", b"autre")
    assert refused.value.status == 423
    assert doc.versions.count() == 1
    with pytest.raises(DocumentError):
        actions.set_lock(Actor(docs.w.elu), doc, True)
    actions.set_lock(Actor(docs.w.maire), doc, False)
    doc.refresh_from_db()
    assert documents_policy.can(docs.w.elu, "change", doc)


def test_a_full_quota_refuses_the_upload_in_french_and_stores_nothing(docs):
    docs.w.org.storage_quota_bytes = 10
    docs.w.org.save()
    docs.space.refresh_from_db()
    docs.budget.refresh_from_db()
    with pytest.raises(DocumentError) as refused:
        docs.store("maire", docs.budget, "gros.bin", b"x" * 11)
    assert refused.value.status == 507
    assert "Commune de Saint-Aubin" in refused.value.message
    assert not Document.objects.filter(name="gros.bin").exists()
    assert Blob.objects.count() == 0


@override_settings(PARVIS_MAX_FILE_BYTES=5)
def test_a_file_over_the_size_limit_is_refused(docs):
    with pytest.raises(DocumentError) as refused:
        docs.store("maire", docs.budget, "gros.bin", b"x" * 6)
    assert refused.value.status == 413
    assert not Document.objects.filter(name="gros.bin").exists()


def test_names_every_system_accepts(docs):
    for bad in ("", "  ", "..", "a/b", "a\\b", "x" * 256, "ligne\nsuivante"):
        with pytest.raises(DocumentError):
            actions.create_folder(Actor(docs.w.maire), docs.budget, bad)
    assert actions.create_folder(Actor(docs.w.maire), docs.budget, "  Séances 2026 ").name == "Séances 2026"


def test_a_name_is_taken_by_a_folder_or_a_document_alike(docs):
    docs.store("maire", docs.budget, "Annexes")
    with pytest.raises(DocumentError):
        actions.create_folder(Actor(docs.w.maire), docs.budget, "Annexes")


def test_subscribers_of_a_folder_or_above_hear_of_a_new_file_at_their_pace(
    docs, django_capture_on_commit_callbacks
):
    actions.set_subscription(Actor(docs.w.elu), docs.root, True)
    actions.set_subscription(Actor(docs.w.secretaire), docs.budget, True)
    with django_capture_on_commit_callbacks(execute=True):
        docs.store("maire", docs.budget, "convocation.pdf")
    notified = Notification.objects.filter(kind="documents.added")
    assert set(notified.values_list("recipient", flat=True)) == {docs.w.elu.pk, docs.w.secretaire.pk}
    assert all("convocation.pdf" in n.title for n in notified)


def test_a_subscriber_who_may_not_see_the_file_hears_nothing(docs, django_capture_on_commit_callbacks):
    actions.set_subscription(Actor(docs.w.elu), docs.root, True)
    actions.set_restriction(
        Actor(docs.w.maire), docs.budget, True, [Grant(None, docs.w.direction, Level.READ)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        docs.store("maire", docs.budget, "salaires.ods")
    assert not Notification.objects.filter(kind="documents.added", recipient=docs.w.elu).exists()


def test_the_uploader_is_not_told_of_her_own_file(docs):
    actions.set_subscription(Actor(docs.w.maire), docs.root, True)
    docs.store("maire", docs.budget, "moi.txt")
    assert not Notification.objects.filter(recipient=docs.w.maire).exists()


def test_every_write_is_in_the_journal_without_contents(docs, secrets_registry):
    secrets_registry.add("contenu-confidentiel-du-fichier")
    doc = docs.store("maire", docs.budget, "a.txt", b"contenu-confidentiel-du-fichier")
    actions.rename(Actor(docs.w.maire), doc, "b.txt")
    actions.move(Actor(docs.w.maire), doc, docs.root)
    actions.copy(Actor(docs.w.maire), doc, docs.budget)
    actions.set_lock(Actor(docs.w.maire), Document.objects.get(pk=doc.pk), True)
    actions.trash(Actor(docs.w.maire), Document.objects.get(pk=doc.pk))
    actions.restore(Actor(docs.w.maire), Document.objects.get(pk=doc.pk))
    actions.create_share_link(
        Actor(docs.w.maire), doc, expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    logged = set(AuditEvent.objects.filter(organisation=docs.w.org).values_list("action", flat=True))
    assert {
        "documents.folder_create",
        "documents.upload",
        "documents.document_rename",
        "documents.document_move",
        "documents.document_copy",
        "documents.lock",
        "documents.document_trash",
        "documents.document_restore",
        "documents.share_create",
    } <= logged


def test_a_template_gives_each_new_space_its_folders(world):
    world.template.tools = ["documents"]
    world.template.folders = ["Séances", "Séances/2026", "Rapports"]
    world.template.save()
    space = space_actions.create_space(
        Actor(world.secretaire), world.org, name="Commission Voirie", template=world.template
    )
    root = actions.root_folder(space)
    names = sorted(Folder.objects.filter(space=space).exclude(pk=root.pk).values_list("name", flat=True))
    assert names == ["2026", "Rapports", "Séances"]
    assert Folder.objects.get(space=space, name="2026").parent.name == "Séances"


def test_versions_keep_what_the_uploader_computer_said_of_their_date(docs):
    when = datetime.datetime(2019, 3, 4, 10, 0, tzinfo=datetime.UTC)
    doc = actions.store_bytes(Actor(docs.w.maire), docs.budget, "ancien.txt", b"x", modified_at=when).document
    assert Version.objects.get(document=doc).file_modified_at == when


def test_the_bytes_used_follow_every_version_added_or_removed_and_a_recount_agrees(docs):
    """The quota is checked against a running count: it must equal what the versions hold
    after uploads, new versions, copies, restores, refusals by the antivirus, purges and the
    deletion of a whole space."""
    from parvis.documents import usage
    from parvis.documents.models import StorageUse

    def stored() -> int:
        versions = Version.objects.filter(document__space__organisation=docs.w.org)
        return sum(versions.values_list("size", flat=True))

    maire = Actor(docs.w.maire)
    doc = docs.store("maire", docs.budget, "budget.ods", b"v1" * 10)
    docs.store("maire", docs.budget, "budget.ods", b"v2" * 30)
    actions.restore_version(maire, doc.versions.get(number=1))
    copy = actions.copy(maire, doc, docs.root)
    assert actions.usage(docs.w.org) == stored() == 20 + 60 + 20 + 20

    infected = docs.store("maire", docs.root, "facture.pdf", b"x" * 7)
    actions.record_scan(infected.current, clean=False, signature="Eicar-Test-Signature")
    assert actions.usage(docs.w.org) == stored() == 120

    actions.trash(maire, copy)
    assert actions.usage(docs.w.org) == 120  # the trash still counts
    actions.purge(maire, Document.objects.get(pk=copy.pk))
    assert actions.usage(docs.w.org) == stored() == 100

    other = space_actions.create_space(maire, docs.w.org, name="Commission voirie", tools=["documents"])
    docs.store("maire", actions.root_folder(other), "plan.pdf", b"p" * 5)
    assert actions.usage(docs.w.org) == stored() == 105
    other.delete()
    assert actions.usage(docs.w.org) == stored() == 100

    StorageUse.objects.filter(organisation=docs.w.org).update(used_bytes=999, counted_at=None)
    assert usage.recount() == 1
    assert actions.usage(docs.w.org) == 100
    assert usage.recount() == 0  # counted a moment ago: not again before a day
