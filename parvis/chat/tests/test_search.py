"""Search in messages through the index: French words whatever their endings and accents, every
word of the query, the last one as a prefix, kept in step with edits and deletions, among what
the searcher may see."""

import importlib
import re
from io import StringIO
from types import SimpleNamespace

from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from conftest import french
from parvis.chat import actions
from parvis.chat.models import Message
from parvis.core.audit import Actor


def found(client, w, query):  # type: ignore[no-untyped-def]
    """The list of results of the commission's search."""
    url = reverse("chat:search", args=[w.org.slug, w.commission.slug])
    response = client.get(url, {"q": query})
    assert response.status_code == 200
    return re.search(r'<ol class="search-results">(.*?)</ol>', response.content.decode(), re.S).group(1)


def hits(client, w, query):  # type: ignore[no-untyped-def]
    return found(client, w, query).count("<li>")


def test_a_word_is_found_whatever_its_ending_and_accents(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.maire), channel, "Les **délibérations** du conseil sont publiées")
    page = found(client_for("elu"), chat_world, "deliberation")
    assert "<mark>délibérations</mark>" in page
    assert page.count("<li>") == 1


def test_every_word_must_be_there_and_the_last_may_be_a_beginning(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.maire), channel, "Travaux de voirie rue des Écoles")
    actions.post_message(Actor(chat_world.maire), channel, "Voirie : subvention du département")
    elu = client_for("elu")
    both = found(elu, chat_world, "voirie subv")
    assert "département" in both
    assert "Écoles" not in both
    assert "Écoles" in found(elu, chat_world, "ecole voirie")
    assert hits(elu, chat_world, "voirie piscine") == 0


def test_an_edit_changes_what_finds_the_message_and_a_deletion_removes_it(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    message = actions.post_message(Actor(chat_world.elu), channel, "Réunion mardi").message
    elu = client_for("elu")
    actions.edit_message(Actor(chat_world.elu), message, "Réunion jeudi")
    assert "jeudi" in found(elu, chat_world, "jeudi")
    assert hits(elu, chat_world, "mardi") == 0
    actions.delete_message(Actor(chat_world.elu), message)
    assert hits(elu, chat_world, "reunion") == 0


def test_a_reaction_or_a_reply_leaves_the_message_findable(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    root = actions.post_message(Actor(chat_world.elu), channel, "Budget primitif").message
    actions.toggle_reaction(Actor(chat_world.maire), root, "👍")
    actions.post_message(Actor(chat_world.maire), channel, "Vu", parent=root)
    assert hits(client_for("elu"), chat_world, "budget") == 1


def test_markup_is_not_searched_and_the_text_is_shown_escaped(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "<script>alert(1)</script> **cantine**")
    elu = client_for("elu")
    page = found(elu, chat_world, "cantine")
    assert "<mark>cantine</mark>" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert hits(elu, chat_world, "strong") == 0


def test_query_syntax_is_taken_as_plain_words(chat_world, client_for):
    """Quotes, stars, operators: neither SQLite's nor PostgreSQL's query syntax gets through."""
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "Ordre du jour")
    elu = client_for("elu")
    for query in ['ordre" OR "zut', "ordre' | 'zut", "NEAR(ordre zut)", "ordre -- zut", "ordre:* zut"]:
        assert hits(elu, chat_world, query) == 0, query
    for query in ["jour:*", '"ordre" jour', "ordre & !jour", "ordre* (jour)"]:
        assert hits(elu, chat_world, query) == 1, query


def test_words_joined_by_underscores_are_found_and_marked_one_by_one(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "<b>Voir</b> ordre_du_jour_2027")
    page = found(client_for("elu"), chat_world, "jour")
    assert "ordre_du_<mark>jour</mark>_2027" in page
    assert "&lt;b&gt;" in page


def test_one_letter_words_are_left_out_when_the_query_has_longer_ones(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    actions.post_message(Actor(chat_world.elu), channel, "Budget de l'école")
    actions.post_message(Actor(chat_world.elu), channel, "Plan B validé")
    elu = client_for("elu")
    assert hits(elu, chat_world, "l'école a") == 1
    alone = found(elu, chat_world, "b?")  # a word of one letter alone is looked for whole
    assert "Plan <mark>B</mark>" in alone
    assert "Budget" not in alone


def test_messages_written_before_the_index_are_filled_by_the_migration(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    message = actions.post_message(Actor(chat_world.elu), channel, "Cimetière communal").message
    Message.objects.filter(pk=message.pk).update(search_terms="")
    elu = client_for("elu")
    assert hits(elu, chat_world, "cimetiere") == 0
    migration = importlib.import_module("parvis.chat.migrations.0002_search_index")
    # What the migration reads of its schema editor (a real one cannot open in a test's transaction).
    migration.fill_terms(django_apps, SimpleNamespace(connection=connection))
    assert "<mark>Cimetière</mark>" in found(elu, chat_world, "cimetiere")


def test_the_command_computes_the_terms_again(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    for text in ("Salle des fêtes", "Fête de la musique"):
        actions.post_message(Actor(chat_world.elu), channel, text)
    gone = actions.post_message(Actor(chat_world.elu), channel, "Fête annulée").message
    actions.delete_message(Actor(chat_world.elu), gone)
    Message.objects.update(search_terms="stale")  # as if words became terms another way before
    out = StringIO()
    call_command("reindex_messages", stdout=out)
    assert french("Search terms computed again; messages changed: %(count)s.", count=2) in out.getvalue()
    assert hits(client_for("elu"), chat_world, "fete") == 2
    assert hits(client_for("elu"), chat_world, "stale") == 0
    again = StringIO()
    call_command("reindex_messages", stdout=again)  # nothing left to change
    assert french("Search terms computed again; messages changed: %(count)s.", count=0) in again.getvalue()


def test_the_index_is_in_place(db):  # type: ignore[no-untyped-def]
    """A later migration that rebuilds the messages' table on SQLite drops its triggers: this
    says so before search quietly stops finding new messages."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'chat_message'"
            )
            names = {row[0] for row in cursor.fetchall()}
            assert names == {"chat_message_fts_insert", "chat_message_fts_delete", "chat_message_fts_update"}
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'chat_message'")
            assert "chat_message_search" in {row[0] for row in cursor.fetchall()}


def test_the_newest_messages_come_first(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    for day in ("lundi", "mardi", "mercredi"):
        actions.post_message(Actor(chat_world.elu), channel, f"Permanence {day}")
    page = found(client_for("elu"), chat_world, "permanence")
    assert page.index("mercredi") < page.index("mardi") < page.index("lundi")
