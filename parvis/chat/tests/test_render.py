"""The message element of the conversation pages (chat/render.py): what comes from people is
escaped, the sanitised HTML is kept, and the words are French."""

from datetime import UTC, datetime

from django.utils import translation

from parvis.chat.previews import Preview
from parvis.chat.render import Labels, message_html


def state(**changes: object) -> dict[str, object]:
    m: dict[str, object] = {
        "id": 7,
        "seq": 9,
        "u": 11,
        "parent": None,
        "author": 3,
        "name": "Paul <b>Durand</b>",
        "at": "2026-12-02T10:05:00+01:00",
        "when": datetime(2026, 12, 2, 9, 5, tzinfo=UTC),
        "html": "<p><strong>Ordre</strong> du jour</p>",
        "src": '**Ordre** du jour "x"',
        "edited": True,
        "deleted": False,
        "reactions": [["👍", [3, 4]]],
        "replies": 2,
        "files": [{"url": "/f/1/", "name": "pv<1>.pdf", "size": 2048}],
        "previews": [Preview("/o/a/e/b/", "Espace", "Conseil & co", "")],
    }
    m.update(changes)
    return m


def html(m: dict[str, object], viewer: int = 3, in_thread: bool = False) -> str:
    with translation.override("fr"):
        return message_html(m, viewer, Labels(), "/o/a/discussion/1/message/", in_thread)


def test_names_and_sources_are_escaped_and_the_sanitised_html_is_kept():
    out = html(state())
    assert "Paul &lt;b&gt;Durand&lt;/b&gt;" in out
    assert 'data-src="**Ordre** du jour &quot;x&quot;"' in out
    assert "<p><strong>Ordre</strong> du jour</p>" in out
    assert "pv&lt;1&gt;.pdf" in out
    assert "Conseil &amp; co" in out
    assert 'data-users="3,4">👍 2</span>' in out


def test_the_words_are_french_and_the_date_is_local():
    out = html(state())
    assert "(modifié)" in out
    assert "2 réponses" in out
    assert "02/12/2026 10:05" in out  # Europe/Paris


def test_only_the_author_gets_the_source_to_edit_and_a_deleted_message_shows_no_content():
    assert "data-src" not in html(state(), viewer=4)
    gone = html(state(deleted=True, html="", src="", files=[], reactions=[], previews=[]))
    assert "is-deleted" in gone
    assert "Message supprimé." in gone
    assert "data-src" not in gone


def test_a_thread_page_shows_no_reply_link_and_an_answer_none_either():
    assert "msg-foot" not in html(state(), in_thread=True)
    assert "msg-foot" not in html(state(parent=5))
    assert "Répondre" in html(state(replies=0))
