"""The secretaire (organisation administrator) prepares a template, then creates the
commissions from it in one go."""

from collections.abc import Callable

import pytest

from tests.e2e.conftest import ORG, Browsing

pytestmark = pytest.mark.e2e

COMMISSIONS = ["Commission jeunesse", "Commission sports et loisirs", "Commission culture"]


def test_the_secretaire_creates_a_template_then_several_spaces_from_it_in_one_go(
    browse: Callable[..., Browsing],
) -> None:
    visit = browse("secretaire")
    page = visit.page
    visit.go(f"{ORG}/admin/modeles/")
    with page.expect_navigation():
        page.click(f"main a[href='{ORG}/admin/modeles/nouveau/']")
    page.fill("input[name=name]", "Commission extra-municipale")
    page.fill("textarea[name=description]", "Habitants et élus travaillent ensemble sur un thème.")
    page.select_option("select[name=kind]", "commission")
    page.select_option("select[name=visibility]", "organisation")
    page.fill("textarea[name=folders_text]", "Comptes rendus\nDocuments de travail")
    visit.submit()
    assert visit.path == f"{ORG}/admin/modeles/"
    assert "Commission extra-municipale" in page.locator("main").inner_text()

    with page.expect_navigation():
        page.click(f"main a[href='{ORG}/espaces/depuis-un-modele/']")
    page.select_option("select[name=template]", label="Commission extra-municipale — Commune de Saint-Aubin")
    page.fill("textarea[name=names]", "\n".join(COMMISSIONS) + "\n")
    visit.submit()

    assert visit.path == f"{ORG}/"
    assert visit.says("%(count)d spaces have been created.", count=3)
    listed = page.locator("main .cards h2").all_inner_texts()
    assert set(COMMISSIONS) <= set(listed)
    visit.assert_accessible()

    with page.expect_navigation():
        page.click("main .cards h2 a:text-is('Commission culture')")
    assert page.locator("main h1").inner_text() == "Commission culture"
    with page.expect_navigation():
        page.click("main nav a[href$='/parametres/']")
    assert page.locator("select[name=kind]").input_value() == "commission"
    assert page.locator("select[name=visibility]").input_value() == "organisation"
    visit.assert_clean()
