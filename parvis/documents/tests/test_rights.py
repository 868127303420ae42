"""Rights on folders: a folder follows its parent or is restricted to a list; the most
restrictive rule along the path wins, capped by the space role; facilitators never lock
themselves out; "Qui a accès ?" says who and why."""

import pytest
from django.utils import timezone

from conftest import french
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent, Group
from parvis.core.tests.factories import join, make_user, member
from parvis.documents import actions
from parvis.documents.access import who_has_access
from parvis.documents.actions import DocumentError, Grant
from parvis.documents.models import Level
from parvis.documents.policies import MANAGE, documents_policy, folder_level, folders_policy
from parvis.spaces.models import Role

from .conftest import doc_url


def restrict(docs, folder, *grants):  # type: ignore[no-untyped-def]
    actions.set_restriction(Actor(docs.w.maire), folder, True, [Grant(*g) for g in grants])


def test_a_new_folder_follows_its_parent_and_the_space_role(docs):
    assert folder_level(docs.w.maire, docs.budget) == MANAGE
    assert folder_level(docs.w.secretaire, docs.budget) == MANAGE  # administrator of the commune
    assert folder_level(docs.w.elu, docs.budget) == Level.WRITE
    assert folder_level(docs.w.agent_rh, docs.budget) is None  # not in the private commission
    assert folder_level(docs.w.inconnu, docs.budget) is None


def test_a_reader_of_the_space_reads_even_when_a_list_gives_her_write(docs):
    reader = make_user("lectrice@saint-aubin.localhost")
    member(docs.w.org, reader)
    join(docs.space, reader, Role.READER)
    restrict(docs, docs.budget, (reader, None, Level.WRITE))
    assert folder_level(reader, docs.budget) == Level.READ
    assert not folders_policy.can(reader, "change", docs.budget)


def test_the_most_restrictive_rule_along_the_path_wins(docs):
    rh = docs.folder("maire", docs.budget, "Paie")
    restrict(docs, docs.budget, (docs.w.elu, None, Level.READ))
    restrict(docs, rh, (docs.w.elu, None, Level.WRITE))
    assert folder_level(docs.w.elu, rh) == Level.READ  # read above wins over write below
    restrict(docs, docs.budget, (None, docs.w.direction, Level.WRITE))
    assert folder_level(docs.w.elu, rh) is None  # no longer on the list above
    assert not folders_policy.visible(docs.w.elu).filter(pk=rh.pk).exists()


def test_a_group_on_the_list_lets_its_members_in(docs):
    restrict(docs, docs.budget, (None, docs.w.direction, Level.READ))
    secret = docs.store("maire", docs.budget, "salaires.xlsx")
    assert folder_level(docs.w.maire, docs.budget) == MANAGE  # facilitator anyway
    assert folder_level(docs.w.elu, docs.budget) is None
    assert documents_policy.visible(docs.w.elu).filter(pk=secret.pk).count() == 0
    docs.w.direction.members.add(docs.w.elu)
    assert folder_level(docs.w.elu, docs.budget) == Level.READ
    assert documents_policy.visible(docs.w.elu).filter(pk=secret.pk).count() == 1


def test_facilitators_never_lock_themselves_out(docs):
    restrict(docs, docs.budget, (docs.w.elu, None, Level.READ))
    assert folder_level(docs.w.maire, docs.budget) == MANAGE
    assert folders_policy.visible(docs.w.maire).filter(pk=docs.budget.pk).exists()
    assert folders_policy.writable(docs.w.maire).filter(pk=docs.budget.pk).exists()


def test_the_top_folder_cannot_be_restricted(docs):
    with pytest.raises(DocumentError):
        restrict(docs, docs.root, (docs.w.elu, None, Level.READ))


def test_a_group_of_another_commune_cannot_be_put_on_a_list(docs):
    stranger = Group.objects.create(organisation=docs.w.other, name="Voirie")
    with pytest.raises(DocumentError):
        restrict(docs, docs.budget, (None, stranger, Level.READ))
    assert not docs.budget.accesses.exists()


def test_an_archived_space_is_read_only_for_everyone(docs):
    docs.space.archived_at = timezone.now()
    docs.space.save()
    assert folder_level(docs.w.maire, docs.budget) == Level.READ
    assert not folders_policy.can(docs.w.elu, "change", docs.budget)


def test_a_space_with_the_tool_off_shows_no_document(docs):
    docs.store("maire", docs.budget, "budget.pdf")
    docs.space.tools = []
    docs.space.save()
    assert not documents_policy.visible(docs.w.maire).filter(space=docs.space).exists()


def test_the_org_wide_council_is_read_by_every_member_but_not_by_a_guest(docs):
    root = actions.root_folder(docs.w.council)
    assert folder_level(docs.w.agent_rh, root) == Level.READ
    assert folder_level(docs.w.externe, root) is None


def test_who_has_access_lists_each_person_her_level_and_why(docs):
    restrict(docs, docs.budget, (None, docs.w.direction, Level.WRITE))
    rows = {a.user: a for a in who_has_access(docs.budget)}
    assert rows[docs.w.maire].level == MANAGE
    assert rows[docs.w.secretaire].level == MANAGE
    assert french("Administrator of the organisation") in rows[docs.w.secretaire].reasons
    assert rows[docs.w.elu].level is None
    assert any("Budget" in reason for reason in rows[docs.w.elu].reasons)
    assert docs.w.agent_rh not in rows  # not in this space at all


def test_the_rights_page_restricts_a_folder_to_a_group_and_the_journal_tells_it(docs, as_persona):
    url = doc_url("folder_rights", docs.space, docs.budget.pk)
    response = as_persona("maire").post(url, {"restricted": "on", f"group_{docs.w.direction.pk}": "write"})
    assert response.status_code == 302
    docs.budget.refresh_from_db()
    assert docs.budget.restricted
    event = AuditEvent.objects.get(action="documents.folder_rights")
    assert event.data["groups"] == [docs.w.direction.pk]
    assert as_persona("elu").get(doc_url("folder", docs.space, docs.budget.pk)).status_code == 404
    page = as_persona("maire").get(doc_url("folder_access", docs.space, docs.budget.pk)).content.decode()
    assert "Paul Durand" in page
    assert "Claire Martin" in page


def test_a_restricted_list_needs_someone_and_a_contributor_cannot_change_rights(docs, as_persona):
    url = doc_url("folder_rights", docs.space, docs.budget.pk)
    empty = as_persona("maire").post(url, {"restricted": "on"})
    assert empty.status_code == 400
    message = "A restricted folder needs at least one person or group; facilitators keep access anyway."
    assert french(message) in empty.content.decode()
    refused = as_persona("elu").post(url, {"restricted": "on", f"user_{docs.w.elu.pk}": "write"})
    assert refused.status_code == 403
    docs.budget.refresh_from_db()
    assert not docs.budget.restricted


def test_a_restricted_folder_is_a_404_by_its_address_and_absent_from_lists(docs, as_persona):
    secret = docs.folder("maire", docs.budget, "Confidentiel")
    restrict(docs, secret, (None, docs.w.direction, Level.READ))
    listing = as_persona("elu").get(doc_url("folder", docs.space, docs.budget.pk)).content.decode()
    assert "Confidentiel" not in listing
    assert as_persona("elu").get(doc_url("folder", docs.space, secret.pk)).status_code == 404
    assert as_persona("maire").get(doc_url("folder", docs.space, secret.pk)).status_code == 200
