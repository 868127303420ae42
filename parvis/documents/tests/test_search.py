"""Text extraction and full-text search, with real files (a PDF, a DOCX, an ODT, plain text)
going through the real upload pipeline (extraction and indexing tasks). The same tests run on
SQLite (FTS5) and on PostgreSQL (tsvector): the suite runs once on each.

What a searcher is promised: French words are found whatever their accents and endings, a
name match comes before a match in the text only, and results hold only what she may open."""

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from parvis.core.audit import Actor
from parvis.core.tests.factories import World
from parvis.documents import actions, extract, search
from parvis.documents.models import Document, Folder, Level
from parvis.documents.policies import documents_policy
from tests.support import files

pytestmark = pytest.mark.django_db


@pytest.fixture
def put(django_capture_on_commit_callbacks: Any, ged: World) -> Callable[..., Document]:
    """Upload a file as the maire (or `by`), running what the upload triggers (antivirus off:
    text extraction and indexing at once)."""

    def upload(folder: Folder, name: str, data: bytes, by: str = "maire") -> Document:
        with django_capture_on_commit_callbacks(execute=True):
            stored = actions.store_bytes(Actor(ged.persona(by)), folder, name, data)
        return Document.objects.select_related("current").get(pk=stored.document.pk)

    return upload


def found(persona: str, world: World, query: str, **filters: Any) -> list[str]:
    """Names of the documents a persona finds, best first (in the scope the views use)."""
    scope = documents_policy.visible(world.persona(persona)).filter(**filters)
    return [hit.document.name for hit in search.search(world.persona(persona), query, scope)]


def council(world: World) -> Folder:
    return actions.root_folder(world.council)


# --- Extraction ---------------------------------------------------------------------------------


TEXT = "Délibération n° 2026-14 : le conseil municipal approuve le budget de l'école élémentaire."


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("deliberation.pdf", files.pdf("Ordre du jour", TEXT)),
        ("deliberation.docx", files.docx("Ordre du jour", TEXT)),
        ("deliberation.odt", files.odt("Ordre du jour", TEXT)),
        ("deliberation.txt", TEXT.encode()),
        ("deliberation-windows.txt", TEXT.encode("cp1252")),
        ("deliberation-bloc-notes.txt", TEXT.encode("utf-16")),
    ],
)
def test_the_text_of_each_kind_of_file_is_extracted_with_its_accents(
    put: Callable[..., Document], ged: World, name: str, data: bytes
) -> None:
    document = put(council(ged), name, data)
    assert document.current.extracted
    assert TEXT in " ".join(document.current.text.split())
    assert found("elu", ged, "deliberations") == [name]


def test_a_file_that_cannot_be_read_has_no_text_and_is_still_found_by_its_name(
    put: Callable[..., Document], ged: World
) -> None:
    document = put(council(ged), "Délibération abîmée.pdf", b"%PDF-1.4 not really a PDF")
    assert document.current.extracted
    assert document.current.text == ""
    assert found("elu", ged, "deliberation") == ["Délibération abîmée.pdf"]


def test_a_utf8_text_cut_inside_a_character_keeps_its_encoding() -> None:
    """Extraction reads at most a few megabytes of a text file: where that cut falls in the
    middle of "é" the whole text must not turn into Windows-1252 mojibake."""
    raw = "é".encode() * (extract.MAX_CHARS + 1)
    text = extract.decode(raw[: extract.MAX_CHARS * 2 + 1])
    assert set(text) == {"é"}


# --- Matching -----------------------------------------------------------------------------------


def test_deliberations_finds_delibération_inside_a_pdf_with_a_highlighted_extract(
    put: Callable[..., Document], ged: World
) -> None:
    put(council(ged), "Séance du 12 mars.pdf", files.pdf("Compte rendu", TEXT))
    put(council(ged), "Menu de la cantine.pdf", files.pdf("Lundi : carottes râpées"))
    scope = documents_policy.visible(ged.elu)
    [hit] = search.search(ged.elu, "deliberations", scope)
    assert hit.document.name == "Séance du 12 mars.pdf"
    assert hit.extract.startswith("Compte rendu <mark>Délibération</mark> n° 2026-14 : le conseil")
    assert hit.extract.endswith(" …")  # a few words around the match, not the whole text


def test_search_ignores_accents_both_ways(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "avec-accents.txt", "La réunion de l'école élémentaire.".encode())
    put(council(ged), "sans-accents.txt", b"La reunion de l'ecole elementaire.")
    assert sorted(found("elu", ged, "ecole")) == ["avec-accents.txt", "sans-accents.txt"]
    assert sorted(found("elu", ged, "ÉCOLE")) == ["avec-accents.txt", "sans-accents.txt"]
    assert sorted(found("elu", ged, "réunions élémentaires")) == ["avec-accents.txt", "sans-accents.txt"]


def test_search_finds_other_forms_of_a_word(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "elections.txt", "Résultats des élections municipales.".encode())
    put(council(ged), "creation.txt", "Une commission a été créée.".encode())
    put(council(ged), "agents.txt", "Les conseillères et les employées.".encode())
    assert found("elu", ged, "election municipale") == ["elections.txt"]
    assert found("elu", ged, "créé") == ["creation.txt"]
    assert found("elu", ged, "creee") == ["creation.txt"]
    assert found("elu", ged, "conseillere employee") == ["agents.txt"]


def test_the_last_word_is_a_prefix_as_the_searcher_types(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "budget.txt", "Délibération sur le budget primitif.".encode())
    assert found("elu", ged, "budget primi") == ["budget.txt"]
    assert found("elu", ged, "délib") == ["budget.txt"]
    assert found("elu", ged, "primi budget") == []  # only the last word is a prefix


def test_every_word_must_match(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "voirie.txt", b"Travaux de voirie rue des Lilas.")
    assert found("elu", ged, "voirie lilas") == ["voirie.txt"]
    assert found("elu", ged, "voirie cantine") == []
    assert found("elu", ged, "   ") == []
    assert found("elu", ged, "«»!?") == []


def test_a_name_match_ranks_above_a_match_in_the_text_only(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "notes.txt", ("Le budget, encore le budget. " * 40).encode())
    put(council(ged), "Budget primitif 2026.odt", files.odt("Fonctionnement et investissement."))
    put(council(ged), "Budgets annexes.txt", b"Eau et assainissement.")
    ranked = found("elu", ged, "budget")
    assert sorted(ranked[:2]) == ["Budget primitif 2026.odt", "Budgets annexes.txt"]
    assert ranked[2:] == ["notes.txt"]


def test_an_extract_is_escaped_and_only_the_matching_words_are_marked(
    put: Callable[..., Document], ged: World
) -> None:
    put(council(ged), "piege.txt", "<script>alert(1)</script> & la délibération <b>".encode())
    [hit] = search.search(ged.elu, "deliberation", documents_policy.visible(ged.elu))
    assert hit.extract == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; la <mark>délibération</mark> &lt;b&gt;"
    )
    assert hit.extract.count("<mark>") == 1


def test_a_match_in_the_name_only_shows_the_name_as_extract(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "Délibérations 2026.txt", b"Rien d'autre ici.")
    [hit] = search.search(ged.elu, "deliberation", documents_policy.visible(ged.elu))
    assert hit.extract == "<mark>Délibérations</mark> 2026.txt"


def test_a_renamed_document_is_found_by_its_new_name_only(
    put: Callable[..., Document], ged: World, django_capture_on_commit_callbacks: Any
) -> None:
    document = put(council(ged), "brouillon.txt", b"Texte.")
    with django_capture_on_commit_callbacks(execute=True):
        actions.rename(Actor(ged.maire), document, "Arrêté de voirie.txt")
    assert found("elu", ged, "arrete") == ["Arrêté de voirie.txt"]
    assert found("elu", ged, "brouillon") == []


def test_a_new_version_replaces_the_text_that_is_searched(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "compte-rendu.txt", b"Premier jet : stationnement.")
    put(council(ged), "compte-rendu.txt", b"Version finale : cantine.")
    assert found("elu", ged, "cantine") == ["compte-rendu.txt"]
    assert found("elu", ged, "stationnement") == []


# --- Only what the searcher may see -------------------------------------------------------------


def test_a_restricted_folder_of_another_group_is_hidden_from_the_elu(
    put: Callable[..., Document], ged: World
) -> None:
    confidential = actions.create_folder(Actor(ged.maire), council(ged), "Dossiers agents")
    actions.set_restriction(
        Actor(ged.maire), confidential, True, [actions.Grant(None, ged.rh_group, Level.READ)]
    )
    put(confidential, "Évaluation annuelle.txt", "Délibération du jury.".encode())
    put(council(ged), "Public.txt", "Délibération publique.".encode())
    assert found("elu", ged, "deliberation") == ["Public.txt"]
    assert sorted(found("agent_rh", ged, "deliberation")) == ["Public.txt", "Évaluation annuelle.txt"]
    assert sorted(found("maire", ged, "deliberation")) == ["Public.txt", "Évaluation annuelle.txt"]


def test_the_trash_is_not_searched_until_restored(put: Callable[..., Document], ged: World) -> None:
    document = put(council(ged), "Arrêté.txt", "Délibération abrogée.".encode())
    folder = actions.create_folder(Actor(ged.maire), council(ged), "Archives")
    put(folder, "Ancien.txt", "Délibération ancienne.".encode())
    actions.trash(Actor(ged.maire), document)
    actions.trash(Actor(ged.maire), folder)
    assert found("maire", ged, "deliberation") == []
    actions.restore(Actor(ged.maire), Document.objects.get(pk=document.pk))
    actions.restore(Actor(ged.maire), Folder.objects.get(pk=folder.pk))
    assert sorted(found("maire", ged, "deliberation")) == ["Ancien.txt", "Arrêté.txt"]


def test_another_communes_documents_never_appear(put: Callable[..., Document], ged: World) -> None:
    put(council(ged), "Saint-Aubin.txt", "Délibération de Saint-Aubin.".encode())
    elsewhere = actions.root_folder(ged.other_space)
    for n in range(12):  # better matches (by their names) than hers, in a commune she is not in
        put(elsewhere, f"Délibération {n}.txt", "Délibération de Val-de-Brume.".encode(), by="inconnu")
    assert found("inconnu", ged, "deliberation") == [f"Délibération {n}.txt" for n in range(12)]
    assert found("elu", ged, "deliberation") == ["Saint-Aubin.txt"]
    # Their matches do not push hers out of a short list either.
    elu_scope = documents_policy.visible(ged.elu)
    assert [h.document.name for h in search.search(ged.elu, "deliberation", elu_scope, limit=3)] == [
        "Saint-Aubin.txt"
    ]
    # The DPO serves both communes; searching in one shows that one's documents only.
    assert found("dpo", ged, "deliberation", space__organisation=ged.org) == ["Saint-Aubin.txt"]


# --- Through the pages --------------------------------------------------------------------------


def test_the_elu_searches_the_council_space_and_sees_the_highlighted_extract(
    put: Callable[..., Document], ged: World, client_for: Callable[[str], Any]
) -> None:
    put(council(ged), "Séance.pdf", files.pdf(TEXT))
    url = reverse("documents:search", args=[ged.org.slug, ged.council.slug])
    page = client_for("elu").get(url, {"q": "deliberations"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Séance.pdf" in html
    assert "<mark>Délibération</mark>" in html


def test_someone_of_another_commune_finds_nothing_of_saint_aubin_from_his_search_page(
    put: Callable[..., Document], ged: World, client_for: Callable[[str], Any]
) -> None:
    put(council(ged), "Séance.pdf", files.pdf(TEXT))
    inconnu = client_for("inconnu")
    own = inconnu.get(reverse("documents:org_search", args=[ged.other.slug]), {"q": "deliberation"})
    assert own.status_code == 200
    assert "Séance.pdf" not in own.content.decode()
    assert inconnu.get(reverse("documents:org_search", args=[ged.org.slug]), {"q": "x"}).status_code == 404
    council_search = reverse("documents:search", args=[ged.org.slug, ged.council.slug])
    assert inconnu.get(council_search, {"q": "deliberation"}).status_code == 404
