"""The discussion's actions: what they store, audit, notify and send (after commit only)."""

import uuid

import pytest
from django.db import transaction

from parvis.chat import actions, markup
from parvis.chat.actions import ChatError
from parvis.chat.models import Conversation, Message
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent, Notification
from parvis.core.tests.factories import make_space
from parvis.spaces.actions import create_space


def sent(callbacks, group: str) -> list[dict]:  # type: ignore[type-arg, no-untyped-def]
    """What the captured after-commit callbacks deliver to `group`, through the real in-memory
    channel layer (a listener joins the group first)."""
    import asyncio
    import json

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def listen() -> list[dict]:  # type: ignore[type-arg]
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        from asgiref.sync import sync_to_async

        for callback in callbacks:
            await sync_to_async(callback)()
        found = []
        while True:
            try:
                event = await asyncio.wait_for(layer.receive(channel), 0.2)
            except TimeoutError:
                await layer.group_discard(group, channel)
                return found
            found.append({**event, "payload": json.loads(event["text"])})

    return async_to_sync(listen)()


def test_a_new_space_with_the_discussion_on_opens_with_its_general_channel(chat_world):
    space = create_space(
        Actor(chat_world.secretaire), chat_world.org, name="Commission travaux", tools=["chat"]
    )
    channel = Conversation.objects.get(space=space)
    assert channel.is_default
    assert channel.name == "Général"
    assert AuditEvent.objects.filter(action="chat.channel_create", object_id=str(channel.pk)).exists()


def test_posting_stores_numbers_audits_and_tells_the_space_after_commit(
    chat_world, django_capture_on_commit_callbacks
):
    channel = actions.ensure_default_channel(chat_world.commission)
    with django_capture_on_commit_callbacks() as callbacks:
        posted = actions.post_message(Actor(chat_world.elu), channel, "Bonjour **à tous**")
    message = posted.message
    assert (message.seq, message.updated_seq, message.html) == (
        1,
        1,
        "<p>Bonjour <strong>à tous</strong></p>",
    )
    event = AuditEvent.objects.get(action="chat.message_post")
    assert event.data == {"conversation": channel.pk, "seq": 1, "files": 0}
    assert "Bonjour" not in str(event.data) + event.object_label  # no content in the journal
    [event] = sent(callbacks, f"chat.space.{chat_world.commission.pk}")
    assert event["group"] == f"chat.space.{chat_world.commission.pk}"
    assert sent(callbacks, f"chat.user.{chat_world.elu.pk}") == []  # channels go to the space only
    payload = event["payload"]
    assert payload["type"] == "event"
    assert payload["seq"] == 1
    assert payload["messages"][0]["id"] == message.pk


def test_nothing_is_sent_when_the_transaction_rolls_back(chat_world, django_capture_on_commit_callbacks):
    channel = actions.ensure_default_channel(chat_world.commission)
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                actions.post_message(Actor(chat_world.elu), channel, "Annulé")
                raise RuntimeError
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Message.objects.exists()
    channel.refresh_from_db()
    assert channel.last_seq == 0  # no number is lost either: clients never wait for a gap


def test_the_same_client_id_stores_one_message(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    key = uuid.uuid4()
    first = actions.post_message(Actor(chat_world.elu), channel, "Une fois", client_id=key)
    again = actions.post_message(Actor(chat_world.elu), channel, "Une fois", client_id=str(key))
    assert first.created
    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


def test_a_reply_sent_again_after_its_thread_was_deleted_is_answered_with_the_stored_one(chat_world):
    """The page lost the answer, the thread went meanwhile: the resend is not refused, since
    the reply was kept the first time."""
    channel = actions.ensure_default_channel(chat_world.commission)
    thread = actions.post_message(Actor(chat_world.maire), channel, "Ordre du jour").message
    key = uuid.uuid4()
    first = actions.post_message(Actor(chat_world.elu), channel, "D’accord", client_id=key, parent=thread)
    actions.delete_message(Actor(chat_world.maire), thread)
    thread.refresh_from_db()
    again = actions.post_message(Actor(chat_world.elu), channel, "D’accord", client_id=key, parent=thread)
    assert not again.created
    assert again.message.pk == first.message.pk
    with pytest.raises(ChatError):  # a new reply to it is refused
        actions.post_message(Actor(chat_world.elu), channel, "Et moi", parent=thread)


def test_an_empty_or_too_long_message_is_refused_in_french_and_changes_nothing(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    with pytest.raises(ChatError, match="Écrivez d’abord un message"):
        actions.post_message(Actor(chat_world.elu), channel, "   ")
    with pytest.raises(ChatError, match="10000 caractères"):
        actions.post_message(Actor(chat_world.elu), channel, "x" * 10_001)
    channel.refresh_from_db()
    assert channel.last_seq == 0
    assert not Message.objects.exists()


def test_a_mention_notifies_the_person_once_even_after_an_edit(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    message = actions.post_message(Actor(chat_world.elu), channel, "@Claire Martin peux-tu relire ?").message
    assert message.mentioned == [chat_world.maire.pk]
    assert f'data-user="{chat_world.maire.pk}">@Claire Martin</span>' in message.html
    actions.edit_message(Actor(chat_world.elu), message, "@Claire Martin peux-tu relire, stp ?")
    [notification] = Notification.objects.filter(recipient=chat_world.maire, kind="chat.mention")
    assert notification.title == "Paul Durand vous a mentionné dans « Général »"
    assert notification.space_id == chat_world.commission.pk  # the budget of that space applies


def test_a_mention_of_someone_who_cannot_read_the_channel_tells_nobody(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "@Nadia Petit tu as vu ?")
    assert not Notification.objects.filter(recipient=chat_world.agent_rh).exists()


def test_mentioning_everyone_tells_the_people_of_the_space_but_not_the_author(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "@tous réunion demain")
    told = set(Notification.objects.filter(kind="chat.mention").values_list("recipient_id", flat=True))
    assert told == {chat_world.maire.pk}


def test_a_private_message_notifies_the_others_once_even_when_it_mentions_them(chat_world):
    direct = actions.start_direct(
        Actor(chat_world.maire), chat_world.org, [chat_world.elu, chat_world.agent_rh]
    )
    actions.post_message(Actor(chat_world.maire), direct, "@Paul Durand et Nadia, un point ?")
    told = list(Notification.objects.filter(kind="chat.direct").values_list("recipient_id", flat=True))
    assert sorted(told) == sorted([chat_world.elu.pk, chat_world.agent_rh.pk])
    assert Notification.objects.filter(space_id__isnull=False, kind__startswith="chat").count() == 0


def test_a_direct_conversation_of_the_same_people_is_found_again(chat_world):
    one = actions.start_direct(Actor(chat_world.maire), chat_world.org, [chat_world.elu])
    two = actions.start_direct(Actor(chat_world.elu), chat_world.org, [chat_world.maire])
    assert one.pk == two.pk
    group = actions.start_direct(Actor(chat_world.maire), chat_world.org, [chat_world.elu, chat_world.dpo])
    assert group.pk != one.pk


def test_a_guest_writes_in_private_only_to_people_she_shares_a_space_with(chat_world):
    # externe is a guest of the school project, where the maire facilitates; the elu is not in it.
    actions.start_direct(Actor(chat_world.externe), chat_world.org, [chat_world.maire])
    with pytest.raises(ChatError, match="seulement"):
        actions.start_direct(Actor(chat_world.externe), chat_world.org, [chat_world.elu])
    with pytest.raises(ChatError):
        actions.start_direct(Actor(chat_world.elu), chat_world.org, [chat_world.externe])


def test_someone_of_another_commune_cannot_be_written_to(chat_world):
    with pytest.raises(ChatError):
        actions.start_direct(Actor(chat_world.maire), chat_world.org, [chat_world.inconnu])
    assert not Conversation.objects.filter(kind="direct").exists()


def test_threads_have_one_level_and_the_first_message_counts_its_answers(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    root = actions.post_message(Actor(chat_world.maire), channel, "Ordre du jour ?").message
    reply = actions.post_message(Actor(chat_world.elu), channel, "Le budget", parent=root).message
    deeper = actions.post_message(Actor(chat_world.maire), channel, "D’accord", parent=reply).message
    root.refresh_from_db()
    assert deeper.parent_id == root.pk
    assert root.reply_count == 2
    assert root.updated_seq == 3


def test_deleting_keeps_the_place_and_the_thread_but_not_the_text(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    root = actions.post_message(Actor(chat_world.elu), channel, "Texte à retirer").message
    actions.toggle_reaction(Actor(chat_world.maire), root, "👍")
    actions.post_message(Actor(chat_world.maire), channel, "Réponse", parent=root)
    actions.delete_message(Actor(chat_world.maire), root)  # the facilitator moderates
    root.refresh_from_db()
    assert root.is_deleted
    assert root.body == ""
    assert root.html == ""
    assert not root.reactions.exists()
    assert root.replies.count() == 1
    assert AuditEvent.objects.get(action="chat.message_delete").data["by_author"] is False


def test_a_reaction_is_given_then_taken_back(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    message = actions.post_message(Actor(chat_world.elu), channel, "Vote ?").message
    assert actions.toggle_reaction(Actor(chat_world.maire), message, "✅") is True
    assert actions.toggle_reaction(Actor(chat_world.maire), message, "✅") is False
    with pytest.raises(ChatError):
        actions.toggle_reaction(Actor(chat_world.maire), message, "<script>")
    message.refresh_from_db()
    assert message.updated_seq == 3


def test_unread_counts_follow_the_read_marker(chat_world):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.maire), channel, "Le mien ne compte pas")
    for n in range(3):
        actions.post_message(Actor(chat_world.elu), channel, f"Message {n}")
    assert actions.unread_counts(chat_world.maire, [channel.pk]) == {channel.pk: 3}
    assert actions.unread_counts(chat_world.elu, [channel.pk]) == {channel.pk: 0}  # she wrote after it
    actions.mark_read(chat_world.maire, channel)
    assert actions.unread_counts(chat_world.maire, [channel.pk]) == {channel.pk: 0}


def test_a_long_unread_history_counts_up_to_the_cap_and_shows_99_plus(chat_world, client_for):
    """A channel never read shows "99+" without counting its whole history; a deleted message
    and her own do not count."""
    w = chat_world
    channel = actions.ensure_default_channel(w.commission)
    other = actions.create_channel(Actor(w.maire), w.commission, "Voirie", "")
    for n in range(actions.UNREAD_CAP + 5):
        actions.post_message(Actor(w.elu), channel, f"Message {n}")
    actions.post_message(Actor(w.maire), other, "Le mien")  # her own: and she has read up to it
    gone = actions.post_message(Actor(w.elu), other, "Effacé").message
    actions.delete_message(Actor(w.elu), gone)
    actions.post_message(Actor(w.elu), other, "Reste")
    counts = actions.unread_counts(w.maire, [channel.pk, other.pk])
    assert counts == {channel.pk: actions.UNREAD_CAP, other.pk: 1}
    url = f"/o/saint-aubin/e/{w.commission.slug}/discussion/{other.pk}/"
    page = client_for("maire").get(url).content.decode()
    assert f'data-unread-for="{channel.pk}" data-n="{actions.UNREAD_CAP}">99+</span>' in page


def test_an_attachment_goes_into_the_spaces_documents_under_their_rights(chat_world):
    from parvis.documents.models import Document

    channel = actions.ensure_default_channel(chat_world.commission)
    posted = actions.post_with_files(
        Actor(chat_world.elu), channel, "Le devis", [("devis.txt", [b"Devis ", b"de travaux"])]
    )
    [file] = posted.message.attachments
    document = Document.objects.get(pk=file["id"])
    assert document.folder.name == "Pièces jointes de la discussion"
    assert document.space == chat_world.commission
    assert file["size"] == 16
    assert file["url"].endswith(f"/fichier/{document.pk}/")


def test_attachments_are_refused_when_the_space_has_no_documents(chat_world):
    space = make_space(chat_world.org, "Sans documents", tools=["chat"])
    channel = actions.ensure_default_channel(space)
    with pytest.raises(ChatError, match="Documents est activé"):
        actions.post_with_files(Actor(chat_world.secretaire), channel, "x", [("a.txt", [b"a"])])
    assert not Message.objects.exists()


def test_markdown_is_light_and_sanitised():
    rendered = markup.render(
        "**gras** *ital* ~~barré~~ `code`\n- un\n- deux\n> cité\n[lien](https://exemple.fr) "
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    )
    out = rendered.html
    assert "<strong>gras</strong>" in out
    assert "<em>ital</em>" in out
    assert "<del>barré</del>" in out
    assert "<ul><li>un</li><li>deux</li></ul>" in out
    assert "<blockquote><p>cité</p></blockquote>" in out
    assert '<a href="https://exemple.fr" rel="noopener noreferrer nofollow">lien</a>' in out
    assert "<script" not in out
    assert "<img" not in out
    assert 'href="javascript' not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out  # shown as the text it was


def test_links_to_parvis_pages_are_kept_for_previews_and_nothing_else():
    rendered = markup.render("Voir /o/saint-aubin/e/finances/ et https://ailleurs.example/page")
    assert rendered.links == ["/o/saint-aubin/e/finances/"]
