"""The documents tool (GED) in a real browser: uploads (a whole folder, and a large file in
resumable chunks that survives a network cut), a folder restricted to a group, search inside a
PDF, and the trash. Every page visited is checked with axe and must run without a JavaScript
error or a CSP violation.

The council ("Conseil municipal", open to the whole organisation) is seeded with folders and
documents (tests/e2e/conftest.py); each test makes the folders it changes, so tests do not
depend on each other's order.
"""

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.e2e.conftest import ORG, Browsing, shown
from tests.support import files

pytestmark = pytest.mark.e2e

GED = f"{ORG}/e/conseil/documents"
MIB = 1024 * 1024
CHUNK = 8 * MIB  # the server's chunk size, and the island's threshold for chunked uploads
# Three full chunks and a shorter fourth: the cut falls on the second, and the last one checks
# that the server takes a partial chunk.
LARGE_SIZE = 3 * CHUNK + 12_345


def checked(visit: Browsing) -> None:
    """What every page visited must pass: axe (WCAG 2.1 A/AA), and a clean console."""
    visit.assert_accessible()
    visit.assert_clean()


def open_link(visit: Browsing, name: str) -> None:
    """Follow a link of the page's main content by its exact text, and check the new page."""
    with visit.page.expect_navigation():
        visit.page.locator("main").get_by_role("link", name=name, exact=True).first.click()
    checked(visit)


def new_folder(visit: Browsing, name: str) -> str:
    """Create a folder in the folder shown, through its form; returns the new folder's path."""
    visit.page.fill("#id_name", name)
    visit.submit("main form[action$='/nouveau/']")
    assert visit.says("The folder “%(name)s” has been created.", name=name)
    checked(visit)
    return visit.path


def listed(visit: Browsing) -> list[str]:
    """Names of the folders and documents of the folder shown."""
    return [
        name.strip()
        for name in visit.page.locator("main table.files tbody td:first-child a").all_inner_texts()
    ]


def rows_of_progress(visit: Browsing) -> list[dict[str, Any]]:
    return visit.page.evaluate(
        """() => [...document.querySelectorAll("[data-progress] p")].map((p) => ({
            text: p.textContent, state: p.dataset.state || "",
            label: p.querySelector("progress").getAttribute("aria-label"),
            value: p.querySelector("progress").value, max: p.querySelector("progress").max,
        }))"""
    )


def download(visit: Browsing) -> bytes:
    """Download the document shown with its "Download" button."""
    with visit.page.expect_download() as started:
        visit.page.locator("main a.button", has_text=shown("Download")).click()
    path = started.value.path()
    return Path(path).read_bytes()


def test_the_maire_uploads_a_whole_folder_and_a_large_file_that_survives_a_network_cut(
    browse: Callable[..., Browsing], tmp_path: Path
) -> None:
    tree = tmp_path / "Séance du 3 février"
    (tree / "Annexes" / "Enregistrements").mkdir(parents=True)
    small = {
        "Délibération n°1.pdf": files.pdf("Délibération n°1 : tarifs de la cantine"),
        "Annexes/Plan économique.png": files.png(),
        "Annexes/Budget détaillé.docx": files.docx("Budget détaillé de l'exercice 2026"),
    }
    for relative, data in small.items():
        (tree / relative).write_bytes(data)
    large = random.Random(2026).randbytes(LARGE_SIZE)
    (tree / "Annexes" / "Enregistrements" / "Intégrale de la séance.bin").write_bytes(large)

    visit = browse("maire")
    page = visit.page
    visit.go(f"{GED}/")
    checked(visit)
    target = new_folder(visit, "Import des séances")

    offsets: list[str] = []
    page.on(
        "request",
        lambda r: offsets.append(r.headers["upload-offset"]) if r.method == "PUT" else None,
    )
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    cuts: list[str] = []

    def cut_during_the_second_chunk(route: Route) -> None:
        """The network goes down as the second chunk leaves: it never reaches the server."""
        if (
            route.request.method == "PUT"
            and route.request.headers["upload-offset"] == str(CHUNK)
            and not cuts
        ):
            cuts.append(route.request.url)
            visit.console.cut_off.add(route.request.url)
            visit.context.set_offline(True)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r"/documents/televersements/[0-9a-f-]+/$"), cut_during_the_second_chunk)
    page.set_input_files("#upload-folder", tree)
    page.locator("#upload-panel button[type=submit]").click()

    progress = page.locator("[data-progress]")
    expect(progress).to_contain_text(
        shown("Connection lost: the upload will go on when it is back."), timeout=60_000
    )
    rows = rows_of_progress(visit)
    overall, *per_file = rows
    assert overall["label"] == shown("Overall")
    *in_one_post, chunked = per_file
    assert sorted(r["label"] for r in in_one_post) == sorted(f"{tree.name}/{path}" for path in small)
    assert all(r["state"] == "done" and r["value"] == r["max"] for r in in_one_post), rows
    assert chunked["label"] == f"{tree.name}/Annexes/Enregistrements/Intégrale de la séance.bin"
    assert chunked["max"] == LARGE_SIZE
    assert chunked["state"] == ""
    assert chunked["value"] == CHUNK, "only the acknowledged first chunk counts"
    assert 0 < overall["value"] < overall["max"]
    assert page.locator("#upload-panel button[type=submit]").is_disabled(), "no second upload meanwhile"
    visit.assert_accessible()  # the progress list itself

    page.unroute(re.compile(r"/documents/televersements/[0-9a-f-]+/$"))
    with page.expect_navigation(timeout=60_000):
        visit.context.set_offline(False)
    assert visit.path == target
    checked(visit)

    # The small files went in one form post, the large one in chunks, resumed where the
    # server stood (the lost chunk is sent again, not the first one).
    assert sum(url.endswith("/televerser/") for url in posts) == 1
    assert offsets == [str(n) for n in (0, CHUNK, CHUNK, 2 * CHUNK, 3 * CHUNK)]
    assert sum(url.endswith("/terminer/") for url in posts) == 1

    assert listed(visit) == ["Séance du 3 février"]
    open_link(visit, "Séance du 3 février")
    assert listed(visit) == ["Annexes", "Délibération n°1.pdf"]
    open_link(visit, "Délibération n°1.pdf")
    assert download(visit) == small["Délibération n°1.pdf"]
    page.go_back()
    open_link(visit, "Annexes")
    assert listed(visit) == ["Enregistrements", "Budget détaillé.docx", "Plan économique.png"]
    open_link(visit, "Enregistrements")
    open_link(visit, "Intégrale de la séance.bin")
    received = download(visit)
    assert len(received) == LARGE_SIZE
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(large).hexdigest()
    visit.assert_clean()


def test_a_facilitator_restricts_a_folder_to_a_group_and_a_member_of_another_group_cannot_reach_it(
    browse: Callable[..., Browsing],
) -> None:
    name = "Notes des élus"
    maire = browse("maire")
    maire.go(f"{GED}/")
    folder = new_folder(maire, name)
    open_link(maire, shown("Rights of this folder"))
    maire.page.check("#id_restricted")
    maire.page.get_by_label("Élus", exact=True).select_option("read")
    maire.submit()
    assert maire.path == f"{folder}acces/"
    assert maire.says("The rights of “%(name)s” have been saved.", name=name)
    checked(maire)

    # "Qui a accès ?" says who, and why: Paul through his group, the facilitators whatever
    # the list says, and Nadia not at all.
    with_access, without_access = maire.page.locator("main table").all()
    paul = with_access.locator("tr", has_text="Paul Durand")
    expect(paul.locator("td").first).to_have_text(shown("Read"))
    expect(paul).to_contain_text(
        shown(
            "“%(folder)s” is restricted: %(level)s, %(how)s.",
            folder=name,
            level=shown("Read").lower(),
            how=shown("through the group “%(group)s”", group="Élus"),
        )
    )
    expect(with_access.locator("tr", has_text="Claire Martin")).to_contain_text(
        shown("Facilitators keep access to every folder.")
    )
    nadia = without_access.locator("tr", has_text="Nadia Petit")
    expect(nadia).to_contain_text(shown("“%(folder)s” is restricted and does not list her.", folder=name))
    assert "Nadia Petit" not in with_access.inner_text()

    # Nadia (of the HR group) reads the council, but neither sees nor reaches the folder.
    nadia_visit = browse("agent_rh")
    nadia_visit.go(f"{GED}/")
    checked(nadia_visit)
    assert "Séances" in listed(nadia_visit)
    assert name not in listed(nadia_visit)
    nadia_visit.go(folder, status=404)
    checked(nadia_visit)
    nadia_visit.go(f"{folder}acces/", status=404)
    checked(nadia_visit)

    # Paul (of the Élus group) does, read only although he contributes to the space.
    paul_visit = browse("elu")
    paul_visit.go(f"{GED}/")
    assert name in listed(paul_visit)
    open_link(paul_visit, name)
    assert paul_visit.path == folder
    assert paul_visit.page.locator("#upload-panel").count() == 0, "read only: no upload form"


def test_an_agent_finds_a_pdf_by_a_word_of_its_text_without_accents_and_sees_it_highlighted(
    browse: Callable[..., Browsing],
) -> None:
    visit = browse("agent_rh")
    visit.go(f"{GED}/recherche/")
    checked(visit)
    visit.page.fill("#id_q", "deliberations")
    with visit.page.expect_navigation():
        visit.page.locator("main form[role=search] button[type=submit]").click()
    checked(visit)

    hit = visit.page.locator("main ol.hits li", has_text="Compte rendu du 12 mars.pdf")
    expect(hit).to_have_count(1)
    assert "délibération" not in "Compte rendu du 12 mars.pdf".lower()  # found by its text
    assert hit.locator("mark").all_inner_texts() == ["Délibération"]
    expect(hit.locator("p")).to_contain_text("budget primitif")
    open_link(visit, "Compte rendu du 12 mars.pdf")
    pages = visit.page.locator("main .pages img")
    assert pages.count() == 4
    assert pages.first.get_attribute("alt") == shown("Page %(number)s of %(total)s", number=1, total=4)
    # The pages are pictures: their text is there too, for who cannot read a picture.
    alternative = visit.page.locator("main details.text-alternative")
    expect(alternative.locator("summary")).to_have_text(shown("Text of the document"))
    alternative.locator("summary").click()
    expect(alternative.locator("pre")).to_contain_text("Délibération n° 2026-014")

    # A document of a folder she may not open is never found.
    visit.go(f"{GED}/recherche/?q=orientations")
    checked(visit)
    assert visit.says("No document matches. Try other words.")


def test_the_maire_deletes_a_folder_finds_it_in_the_trash_and_restores_it_with_its_files(
    browse: Callable[..., Browsing],
) -> None:
    name = "Archives 2025"
    visit = browse("maire")
    page = visit.page
    visit.go(f"{GED}/")
    folder = new_folder(visit, name)
    parent = page.locator("main .crumbs a").last.get_attribute("href")
    page.set_input_files(
        "#upload-files",
        [
            {"name": "Bilan annuel.pdf", "mimeType": "application/pdf", "buffer": files.pdf("Bilan 2025")},
            {"name": "Photo du marché.png", "mimeType": "image/png", "buffer": files.png()},
        ],
    )
    with page.expect_navigation():
        page.locator("#upload-panel button[type=submit]").click()
    assert visit.path == folder
    checked(visit)
    assert listed(visit) == ["Bilan annuel.pdf", "Photo du marché.png"]

    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    with page.expect_navigation():
        page.locator("main button", has_text=shown("Delete this folder")).click()
    assert messages == [shown("Put this folder and everything in it in the trash?")]
    assert visit.path == parent
    assert visit.says("“%(name)s” is in the trash.", name=name)
    checked(visit)
    assert name not in listed(visit)
    visit.go(folder, status=404)
    checked(visit)

    visit.go(f"{GED}/")
    open_link(visit, shown("Trash"))
    row = page.locator("main tbody tr", has_text=name)
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.get_by_role("button", name=f"{shown('Restore')} {name}").click()
    assert visit.says("“%(name)s” is back in “%(folder)s”.", name=name, folder=shown("Documents"))
    checked(visit)
    expect(page.locator("main tbody tr", has_text=name)).to_have_count(0)

    visit.go(f"{GED}/")
    assert name in listed(visit)
    open_link(visit, name)
    assert visit.path == folder
    assert listed(visit) == ["Bilan annuel.pdf", "Photo du marché.png"]
    open_link(visit, "Bilan annuel.pdf")
    assert download(visit) == files.pdf("Bilan 2025")
    visit.assert_clean()
