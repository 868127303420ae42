"""End-to-end fixtures: one real Parvis (production settings, `manage.py serve`) seeded with the
personas per xdist worker, one headless Chromium per worker, and a fresh browser context per
test, optionally signed in as a persona.

A missing Chromium skips these tests on a developer's machine and fails them in CI (CI=true).
"""

import functools
import html
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import Secrets, french
from parvis.core.tests.factories import PASSWORD
from tests.support.instance import Instance, instance

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ORG = "/o/saint-aubin"

# The seed: the personas world, an operator, and a little life (a request to join, pending
# invitations, a notification) so that lists are not empty when they are checked. Accounts are
# made with a fast hasher, then all given one real (argon2) hash of the shared password.
SEED = """
import json
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from parvis.core.audit import Actor
from parvis.core.models import OrgMembership, User
from parvis.core.notify import notify
from parvis.core.tests.factories import PASSWORD, build_world, make_user, member
from parvis.spaces import actions

with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    w = build_world()
    User.objects.create_superuser("operateur@parvis.localhost", PASSWORD, full_name="Olivia Roux")
    member(w.org, make_user("securite@saint-aubin.localhost", full_name="Hélène Leroy"))
User.objects.update(password=make_password(PASSWORD))
actions.request_to_join(Actor(w.agent_rh), w.ecole, "Je suis la référente RH de l'école.")
actions.invite_to_space(Actor(w.maire), w.ecole, "bureau@partenaire.localhost", "contributor")
actions.invite(
    Actor(w.secretaire), w.org, "nouvelle@saint-aubin.localhost",
    org_role=OrgMembership.Role.MEMBER, qualite=OrgMembership.Qualite.AGENT,
)
notify(
    [w.elu], organisation=w.org, kind="space.member_added", space_id=w.council.pk,
    title="Vous avez été ajouté à l’espace « Conseil municipal »", url="/o/saint-aubin/e/conseil/",
)

# The GED: the tool on in every space, a group of elected members; in the council, folders (one
# restricted to the Direction group), a PDF whose text holds a word its name does not, an
# image, a deleted file, the maire's favourites and recent files, and a share link. Files are
# processed at once (text, index, thumbnails): the test server runs no worker.
import datetime
from django.utils import timezone
from parvis.core.models import Group
from parvis.documents import actions as ged
from parvis.documents.models import Level
from parvis.documents.tasks import process_version
from parvis.spaces.models import Space
from tests.support import files
Space.objects.update(tools=["documents"])
by_maire = Actor(w.maire)
top = ged.root_folder(w.council)
deliberations = ged.create_folder(by_maire, top, "Délibérations 2026")
seances = ged.create_folder(by_maire, top, "Séances")
restricted = ged.create_folder(by_maire, top, "Direction générale")
ged.set_restriction(by_maire, restricted, True, [ged.Grant(None, w.direction, Level.WRITE)])
elus = Group.objects.create(organisation=w.org, name="Élus")
elus.members.set([w.elu])
report = ged.store_bytes(by_maire, seances, "Compte rendu du 12 mars.pdf", files.pdf(
    "Délibération n° 2026-014 du conseil municipal\\nrelative au budget primitif de la commune.",
    "Vote : adoptée à l'unanimité des présents.",
    "Questions diverses : travaux de voirie rue des Écoles.",
    "La séance est levée à 22 h 10.",
))
picture = ged.store_bytes(by_maire, deliberations, "Plan du bourg.png", files.png(320, 200))
note = ged.store_bytes(by_maire, restricted, "Note de cadrage.pdf", files.pdf("Orientations budgétaires"))
draft = ged.store_bytes(by_maire, seances, "Brouillon de l'ordre du jour.txt", "Première idée".encode())
for stored in (report, picture, note, draft):
    process_version.call(stored.version.pk)
ged.trash(by_maire, draft.document)
ged.set_favourite(by_maire, report.document, True)
ged.set_favourite(by_maire, deliberations, True)
_link, share_token = ged.create_share_link(
    by_maire, deliberations, expires_at=timezone.now() + datetime.timedelta(days=30)
)

# The discussion, on in the private finance commission (maire facilitates, elu contributes; the
# other people of the commune are not in it): a channel with a few messages, a thread, and a
# private conversation between the maire and the elu.
from parvis.chat import actions as chat
Space.objects.filter(pk=w.commission.pk).update(tools=["documents", "chat"])
w.commission.refresh_from_db()
channel = chat.ensure_default_channel(w.commission)
said = [
    (w.maire, "Bonjour à tous, la commission se réunit **jeudi à 18 h** en salle du conseil."),
    (w.elu, "Merci. Faut-il préparer le point sur le budget primitif ?"),
    (w.maire, "Oui, avec les chiffres de la section d'investissement."),
]
posted = [chat.post_message(Actor(who), channel, text).message for who, text in said]
chat.post_message(Actor(w.elu), channel, "Je m'en occupe.", parent=posted[2])
direct = chat.start_direct(Actor(w.maire), w.org, [w.elu])
chat.post_message(Actor(w.maire), direct, "Pouvez-vous relire la délibération avant jeudi ?")

print(json.dumps({
    "emails": {name: w.persona(name).email for name in w.PERSONAS}
    | {"operateur": "operateur@parvis.localhost", "securite": "securite@saint-aubin.localhost"},
    "member": OrgMembership.objects.get(organisation=w.org, user=w.elu).pk,
    "group": w.direction.pk,
    "template": w.template.pk,
    "folder": deliberations.pk,
    "restricted": restricted.pk,
    "pdf": report.document.pk,
    "image": picture.document.pk,
    "share_token": share_token,
    "channel": channel.pk,
    "direct": direct.pk,
}))
"""


def shown(msgid: str, **params: object) -> str:
    """The French text of a msgid as the browser shows it (`french` gives it HTML-escaped)."""
    return html.unescape(french(msgid, **params))


@dataclass
class Parvis:
    """The running instance and what the seed created."""

    inst: Instance
    emails: dict[str, str]
    ids: dict[str, int]
    share_token: str  # of the seeded share link: a secret, shown once, never stored

    @property
    def url(self) -> str:
        return self.inst.url


@pytest.fixture(scope="session")
def parvis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parvis]:
    """One seeded instance and server per xdist worker (production settings, argon2)."""
    with instance(tmp_path_factory.mktemp("e2e"), "e2e") as inst:
        seeded = json.loads(inst.python(SEED).strip().splitlines()[-1])
        inst.start_server()
        emails, token = seeded.pop("emails"), seeded.pop("share_token")
        yield Parvis(inst, emails, seeded, token)


def _chromium() -> str | None:
    path = os.environ.get("PARVIS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _missing(message: str) -> None:
    """Without a browser these tests cannot run: a skip on a developer's machine, a failure in
    CI, where nothing may be skipped for lack of a tool."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per worker (Debian's, driven by Playwright)."""
    path = _chromium()
    if path is None:
        _missing("Chromium is not installed (make system-test-deps, or set PARVIS_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (make install-test)")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """What the browser complained about: console errors, uncaught exceptions, CSP reports."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)  # type, text, url
    error_documents: set[str] = field(default_factory=set)
    cut_off: set[str] = field(default_factory=set)  # requests a test failed on purpose

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.messages.append((m.type, m.text, m.location.get("url", ""))))
        page.on("pageerror", lambda error: self.messages.append(("uncaught", str(error), "")))
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.is_navigation_request():
            self.error_documents.add(response.url)

    @property
    def problems(self) -> list[str]:
        """Chromium reports a page served with an error status (a 404, a form sent back with
        its errors as 400) as a failed load; tests check those statuses themselves, and a
        request a test cut off (`cut_off`) fails as it should. A failed script, style or image is
        a problem, as is every error and CSP report."""
        return [
            f"{kind}: {text} ({url})"
            for kind, text, url in self.messages
            if (kind in ("error", "uncaught") or "Content Security Policy" in text)
            and not (url in self.error_documents and text.startswith("Failed to load resource"))
            and not (url in self.cut_off and text.startswith("Failed to load resource: net::ERR_"))
        ]


# Records CSP violations from inside the page too (the init script is not subject to the CSP).
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


@dataclass
class Browsing:
    """A fresh browser context (no cache, no cookie unless signed in), its page and console,
    and the websockets the page opened with the frames they received."""

    context: Any
    page: Any
    console: Console
    base_url: str
    secrets: Secrets
    sockets: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.page.on("websocket", self._socket)

    def _socket(self, socket: Any) -> None:
        frames = self.sockets.setdefault(socket.url, [])
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    def go(self, path: str, status: int = 200) -> Any:
        """Open a page (until its load event) and check its status."""
        response = self.page.goto(self.base_url + path)
        assert response is not None
        assert response.status == status, f"{path} answered {response.status} at {self.path}"
        return response

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def submit(self, form: str = "main form[method=post]") -> None:
        """Press the submit button of the (first matching) form and wait for the next page."""
        with self.page.expect_navigation():
            self.page.locator(form).first.locator("button[type=submit]").first.click()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Through the real sign-in form, as a person would."""
        self.go("/connexion/")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.submit("main form[action='/connexion/']")
        self.keep_session_secret()

    def says(self, msgid: str, **params: object) -> bool:
        """Does the page show this message, in French? (Through the catalogue, as `french`.)"""
        return shown(msgid, **params) in self.page.locator("body").inner_text()

    def keep_session_secret(self) -> None:
        self.secrets.add(*(c["value"] for c in self.context.cookies() if c["name"] == "sessionid"))

    def socket_message(self, timeout: float = 10) -> bool:
        """Wait until the page's websockets (there must be one) have each received a message."""
        deadline = time.monotonic() + timeout
        while not (self.sockets and all(self.sockets.values())):
            if time.monotonic() > deadline:
                return False
            self.page.wait_for_timeout(25)
        return True

    def csp_violations(self) -> list[str]:
        """CSP violations of the current document (every one also reaches the console)."""
        return list(self.page.evaluate("window.__csp || []"))

    def assert_clean(self) -> None:
        """No JavaScript error, uncaught exception or CSP violation on any page so far."""
        problems = self.console.problems + [f"CSP: {v}" for v in self.csp_violations()]
        assert not problems, "\n".join(problems)

    def serious_accessibility_violations(self) -> list[dict[str, Any]]:
        """axe-core on the page as it is now, WCAG 2.1 A and AA, serious and critical only.

        axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so
        the page keeps its real policy (an injected <script> would need bypass_csp)."""
        self.page.evaluate(_axe_source())
        result = self.page.evaluate(RUN_AXE, AXE_TAGS)
        return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]

    def assert_accessible(self) -> None:
        violations = self.serious_accessibility_violations()
        assert not violations, f"{self.path}:\n{describe(violations)}"


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """(tags) => axe.run(document, {
  runOnly: {type: "tag", values: tags},
  resultTypes: ["violations"],
})"""


@functools.cache
def _axe_source() -> str:
    return AXE.read_text() + "\n;0"  # evaluate the script for its effect, not its value


def describe(violations: list[dict[str, Any]]) -> str:
    """The violations as a reader needs them: rule, impact, help, and the first elements."""
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


@pytest.fixture(scope="session")
def _signed_in_states() -> dict[str, dict[str, Any]]:
    """Cookies of one real sign-in per persona, reused by later contexts (still cold caches)."""
    return {}


@pytest.fixture
def browse(
    browser: Any,
    parvis: Parvis,
    secrets_registry: Secrets,
    _signed_in_states: dict[str, dict[str, Any]],
) -> Iterator[Callable[..., Browsing]]:
    """`browse()` opens a fresh anonymous context; `browse("maire")` one signed in as maire
    (each persona signs in once per worker through the real form; later contexts start with
    her cookies, so no test may end a persona's session). Every context is closed at the end
    of the test, its session cookie kept as a secret."""
    opened: list[Browsing] = []

    def open_context(persona: str | None = None, **options: Any) -> Browsing:
        if persona is not None and persona not in _signed_in_states:
            first = open_context()
            first.sign_in(parvis.emails[persona])
            _signed_in_states[persona] = first.context.storage_state()
        context = browser.new_context(
            base_url=parvis.url,
            locale="fr-FR",
            storage_state=_signed_in_states[persona] if persona else None,
            **options,
        )
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_LISTENER)
        console = Console()
        context.on("page", console.watch)
        visit = Browsing(context, context.new_page(), console, parvis.url, secrets_registry)
        opened.append(visit)
        return visit

    yield open_context
    for visit in opened:
        visit.keep_session_secret()
        visit.context.close()
