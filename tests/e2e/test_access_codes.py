"""A facilitator gives an access code to a partner outside the commune; the partner joins with
it and sees that one space, nothing else of the organisation."""

from collections.abc import Callable

import pytest

from conftest import Secrets
from tests.e2e.conftest import ORG, Browsing, shown

pytestmark = pytest.mark.e2e

NEWCOMER = "a.roussel@atelier-lumiere.localhost"
NEWCOMER_PASSWORD = "Une cour d'école pleine de lumière en 2027"


def test_an_outside_person_joins_with_a_code_and_sees_only_that_space(
    browse: Callable[..., Browsing], secrets_registry: Secrets
) -> None:
    secrets_registry.add(NEWCOMER_PASSWORD)
    manager = browse("maire", permissions=["clipboard-read", "clipboard-write"])
    manager.go(f"{ORG}/e/ecole/")
    with manager.page.expect_navigation():
        manager.page.click(f"main nav a[href='{ORG}/e/ecole/codes/']")
    manager.page.fill("input[name=label]", "Atelier Lumière, architectes")
    manager.page.select_option("select[name=role]", "contributor")
    manager.page.fill("input[name=max_uses]", "3")
    assert manager.page.input_value("input[name=expires_on]")  # a month from now, ready to keep
    manager.submit()
    code = manager.page.inner_text("#access-code").strip()
    secrets_registry.add(code, code.replace("-", ""))
    assert len(code.replace("-", "")) == 12
    manager.assert_accessible()
    manager.page.click("main button[data-copy]")
    manager.page.locator("main button[data-copy]", has_text=shown("Copied")).wait_for()
    assert manager.page.evaluate("navigator.clipboard.readText()") == code

    newcomer = browse()
    page = newcomer.page
    newcomer.go("/rejoindre/")
    page.fill("input[name=code]", code.lower())  # as typed on a phone: case does not matter
    newcomer.submit()
    assert newcomer.path == "/rejoindre/compte/"
    assert "Projet école" in page.locator("main").inner_text()
    newcomer.assert_accessible()
    page.fill("input[name=full_name]", "Anne Roussel")
    page.fill("input[name=email]", NEWCOMER)
    page.fill("input[name=new_password1]", NEWCOMER_PASSWORD)
    page.fill("input[name=new_password2]", NEWCOMER_PASSWORD)
    newcomer.submit()
    newcomer.keep_session_secret()

    # She lands in the space, with the role of the code: no facilitator's entries.
    assert newcomer.path == f"{ORG}/e/ecole/"
    assert page.locator("main h1").inner_text() == "Projet école"
    assert newcomer.says("Welcome to the space “%(name)s”.", name="Projet école")
    assert page.locator(f"main a[href='{ORG}/e/ecole/codes/']").count() == 0

    # Mes espaces: that space, and only that one; nothing offers the rest of the organisation.
    with page.expect_navigation():
        page.click(f"header a[href='{ORG}/']")
    assert page.locator("main .cards h2").all_inner_texts() == ["Projet école"]
    links = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert f"{ORG}/espaces/" not in links
    assert f"{ORG}/annuaire/" not in links
    newcomer.go(f"{ORG}/annuaire/", status=403)

    # Another space of the same organisation, even one open to all its members: not found.
    for other in ("conseil", "finances"):
        newcomer.go(f"{ORG}/e/{other}/", status=404)
        assert page.locator("main h1").inner_text() == shown("Page not found")
    newcomer.assert_clean()

    # The facilitator sees the code used once.
    manager.go(f"{ORG}/e/ecole/codes/")
    row = manager.page.locator("main table tbody tr", has_text=code[-4:])
    assert "1 / 3" in row.inner_text()
    manager.go(f"{ORG}/e/ecole/membres/")
    member = manager.page.locator("main table tbody tr", has_text="Anne Roussel")
    assert member.locator("select[name=role]").input_value() == "contributor"
    assert shown("guest") in member.inner_text()
