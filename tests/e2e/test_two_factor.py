"""Signing in with a password, turning on the second factor from the account pages, and signing
in again with it: the whole way a careful agent goes, in a real browser."""

import time
from collections.abc import Callable

import pyotp
import pytest

from conftest import Secrets
from parvis.core.tests.factories import PASSWORD
from tests.e2e.conftest import ORG, Browsing, Parvis, shown

pytestmark = pytest.mark.e2e


def test_a_person_turns_on_two_factor_authentication_then_signs_in_with_a_code(
    browse: Callable[..., Browsing], parvis: Parvis, secrets_registry: Secrets
) -> None:
    email = parvis.emails["securite"]
    visit = browse()
    page = visit.page

    # She signs in with the keyboard only: the address field has the focus, Enter submits.
    visit.go("/connexion/")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.keep_session_secret()
    assert visit.path == f"{ORG}/"
    # The first Tab reaches the skip link, which takes her to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"

    # Mon compte → Double authentification → Activer
    with page.expect_navigation():
        page.click("header a[href='/compte/']")
    with page.expect_navigation():
        page.click("nav.side a[href='/compte/securite/']")
    with page.expect_navigation():
        page.click("main a[href='/compte/securite/activer/']")
    assert page.locator(".qr img").evaluate("img => img.complete && img.naturalWidth > 0"), "no QR code"
    key = page.inner_text("#totp-secret")
    secret = "".join(key.split())
    secrets_registry.add(key, secret)
    totp = pyotp.TOTP(secret)

    # A mistyped code is refused, in French, and the form says where the error is.
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    page.fill("input[name=code]", wrong)
    visit.submit()
    assert visit.says("This code is not valid. Check your phone's clock and try again.")
    assert page.get_attribute("input[name=code]", "aria-invalid") == "true"
    visit.assert_accessible()

    # django-otp refuses any code for a second after a failure; a person retypes more slowly.
    page.wait_for_timeout(1100)
    code = totp.now()
    secrets_registry.add(code)
    page.fill("input[name=code]", code)
    visit.submit()
    recovery_codes = page.locator("#recovery-codes li").all_inner_texts()
    secrets_registry.add(*recovery_codes)
    assert len(recovery_codes) == 10
    assert all(c.isdigit() and len(c) == 10 for c in recovery_codes)
    assert visit.says("Two-factor authentication is on.")
    visit.assert_accessible()

    with page.expect_navigation():
        page.click("header form[action='/deconnexion/'] button")
    assert visit.path == "/connexion/"
    assert not [c for c in visit.context.cookies() if c["name"] == "sessionid"]

    # Password first, then the code of the application.
    visit.sign_in(email)
    assert visit.path == "/connexion/second-facteur/"
    assert page.locator("main h1").inner_text() == shown("Second factor")
    visit.assert_accessible()
    # The code that turned the factor on is spent; the application's next one is accepted.
    next_code = totp.at(time.time() + totp.interval)
    secrets_registry.add(next_code)
    page.fill("input[name=code]", next_code)
    visit.submit()
    visit.keep_session_secret()

    assert visit.path == f"{ORG}/"
    assert page.locator("main h1").inner_text() == shown("My spaces")
    visit.go("/compte/securite/")
    assert visit.says("Two-factor authentication is on.")
    visit.assert_clean()
