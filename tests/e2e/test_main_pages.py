"""Every main page, opened by the persona who uses it on a cold load (new browser context, empty
cache), under its real Content Security Policy:

- is accessible: axe-core finds no serious or critical violation of WCAG 2.1 A and AA (the RGAA
  is built on them);
- is light: at most 100 KB transferred and 15 requests (EcoIndex grade A), all to its own origin;
- runs clean: no JavaScript error, no uncaught exception, no CSP violation, and its real-time
  island (the unread count) receives its first message;
- reflows: at 320 CSS pixels wide (a phone, or 400 % zoom) the page does not scroll sideways
  (WCAG 1.4.10); a wide table scrolls inside its own box.

Each page is visited once per run and the tests read that visit: the weight is measured before
axe is injected, axe runs once the page has settled, and the window is narrowed last.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ORG, ROOT, Browsing, Parvis, describe

STATIC_ROOT = ROOT / "staticfiles"

pytestmark = pytest.mark.e2e

MAX_BYTES = 100 * 1024
MAX_REQUESTS = 15
NARROW = 320
# The page's sideways overflow at the current width, and the outermost elements sticking out
# (a table scrolling inside its .table-wrap is allowed, as WCAG allows for data tables).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const out = [...document.querySelectorAll("body *")].filter((e) => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !e.parentElement.closest(".table-wrap");
  });
  const outermost = out.filter((e) => !out.includes(e.parentElement)).slice(0, 8);
  const name = (e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "");
  const right = (e) => Math.round(e.getBoundingClientRect().right);
  const page = `page ${document.documentElement.scrollWidth}px wide`;
  return [page, ...outermost.map((e) => `${name(e)} ends at ${right(e)}px`)];
}"""


@dataclass(frozen=True)
class MainPage:
    """A page, the persona who opens it, and the status it answers with."""

    name: str
    persona: str | None
    path: str
    status: int = 200

    def url(self, parvis: Parvis) -> str:
        return self.path.format(**parvis.ids, share_token=parvis.share_token)


GED = f"{ORG}/e/conseil/documents"


MAIN_PAGES = [
    MainPage("sign-in", None, "/connexion/"),
    MainPage("forgotten password", None, "/mot-de-passe/oublie/"),
    MainPage("access code entry", None, "/rejoindre/"),
    MainPage("accessibility statement", None, "/accessibilite/"),
    MainPage("my spaces", "maire", f"{ORG}/"),
    MainPage("my spaces of a guest", "externe", f"{ORG}/"),
    MainPage("my tabs", "maire", f"{ORG}/onglets/"),
    MainPage("all spaces", "elu", f"{ORG}/espaces/"),
    MainPage("people directory", "elu", f"{ORG}/annuaire/"),
    MainPage("space", "maire", f"{ORG}/e/conseil/"),
    MainPage("space seen from outside", "elu", f"{ORG}/e/ecole/"),
    MainPage("space members", "maire", f"{ORG}/e/ecole/membres/"),
    MainPage("space groups", "maire", f"{ORG}/e/ecole/groupes/"),
    MainPage("space requests", "maire", f"{ORG}/e/ecole/demandes/"),
    MainPage("space settings", "maire", f"{ORG}/e/conseil/parametres/"),
    MainPage("access codes", "maire", f"{ORG}/e/ecole/codes/"),
    MainPage("create a space", "secretaire", f"{ORG}/espaces/nouveau/"),
    MainPage("create spaces from a template", "secretaire", f"{ORG}/espaces/depuis-un-modele/"),
    MainPage("account profile", "elu", "/compte/"),
    MainPage("password change", "elu", "/compte/mot-de-passe/"),
    MainPage("two-factor authentication", "elu", "/compte/securite/"),
    MainPage("two-factor set-up", "elu", "/compte/securite/activer/"),
    MainPage("sessions", "elu", "/compte/sessions/"),
    MainPage("app passwords", "elu", "/compte/mots-de-passe-d-application/"),
    MainPage("notification settings", "elu", "/compte/notifications/"),
    MainPage("notifications", "elu", "/notifications/"),
    MainPage("admin members", "secretaire", f"{ORG}/admin/membres/"),
    MainPage("admin member", "secretaire", f"{ORG}/admin/membres/{{member}}/"),
    MainPage("admin groups", "secretaire", f"{ORG}/admin/groupes/"),
    MainPage("admin group", "secretaire", f"{ORG}/admin/groupes/{{group}}/"),
    MainPage("admin invitations", "secretaire", f"{ORG}/admin/invitations/"),
    MainPage("admin templates", "secretaire", f"{ORG}/admin/modeles/"),
    MainPage("admin template", "secretaire", f"{ORG}/admin/modeles/{{template}}/"),
    MainPage("activity log", "secretaire", f"{ORG}/admin/journal/"),
    MainPage("notification defaults", "secretaire", f"{ORG}/admin/notifications/"),
    MainPage("operator organisations", "operateur", "/operateur/"),
    MainPage("operator new organisation", "operateur", "/operateur/nouvelle/"),
    MainPage("documents of a space", "maire", f"{GED}/"),
    MainPage("documents folder", "maire", f"{GED}/dossier/{{folder}}/"),
    MainPage("documents folder seen by a reader", "agent_rh", f"{GED}/dossier/{{folder}}/"),
    MainPage("document with a PDF preview", "maire", f"{GED}/fichier/{{pdf}}/"),
    MainPage("document with an image preview", "elu", f"{GED}/fichier/{{image}}/"),
    MainPage("who has access to a folder", "maire", f"{GED}/dossier/{{restricted}}/acces/"),
    MainPage("rights of a folder", "maire", f"{GED}/dossier/{{restricted}}/droits/"),
    MainPage("rename a document", "maire", f"{GED}/fichier/{{pdf}}/renommer/"),
    MainPage("move a document", "maire", f"{GED}/fichier/{{pdf}}/deplacer/"),
    MainPage("documents trash", "maire", f"{GED}/corbeille/"),
    MainPage("documents search with results", "maire", f"{GED}/recherche/?q=deliberations"),
    MainPage("documents search in all spaces", "elu", f"{ORG}/documents/recherche/?q=budget"),
    MainPage("recent files", "maire", f"{ORG}/documents/recents/"),
    MainPage("favourites", "maire", f"{ORG}/documents/favoris/"),
    MainPage("share by link", "maire", f"{GED}/dossier/{{folder}}/partager/"),
    MainPage("public page of a share link", None, "/partage/{share_token}/"),
    MainPage("discussion channel with messages", "maire", f"{ORG}/e/finances/discussion/{{channel}}/"),
    MainPage("discussion search with results", "elu", f"{ORG}/e/finances/discussion/recherche/?q=budget"),
    MainPage("discussion search in all spaces", "elu", f"{ORG}/discussion/recherche/?q=jeudi"),
    MainPage("private messages", "elu", f"{ORG}/messages/"),
    MainPage("private conversation", "elu", f"{ORG}/messages/{{direct}}/"),
    MainPage("page not found", "maire", f"{ORG}/e/nexiste-pas/", status=404),
    MainPage("page not found, signed out", None, "/nexiste-pas/", status=404),
]


@pytest.fixture(params=MAIN_PAGES, ids=[p.name.replace(" ", "-") for p in MAIN_PAGES])
def main_page(request: pytest.FixtureRequest) -> MainPage:
    return request.param


def _favicon(url: str) -> int:
    """The size on disk of the favicon at `url` (0 for any other URL). Chromium's own fetch of
    the favicon sometimes never reports its end to DevTools, on a quiet box as on a busy one;
    such a fetch is counted by the file it would have transferred, not waited for."""
    path = urlsplit(url).path
    if not path.startswith("/static/favicon."):
        return 0
    return (STATIC_ROOT / path.removeprefix("/static/")).stat().st_size


@dataclass
class Traffic:
    """What the browser's network layer saw (Chrome DevTools Protocol): every request, and the
    bytes each took on the wire, headers and encoded body (`encodedDataLength`)."""

    urls: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    sockets: list[str] = field(default_factory=list)
    cdp: Any = None

    @classmethod
    def record(cls, visit: Browsing) -> "Traffic":
        traffic = cls()
        cdp = visit.context.new_cdp_session(visit.page)
        cdp.on("Network.requestWillBeSent", traffic._sent)
        cdp.on("Network.loadingFinished", traffic._finished)
        cdp.on("Network.loadingFailed", traffic._failed)
        cdp.on("Network.webSocketCreated", lambda event: traffic.sockets.append(event["url"]))
        cdp.send("Network.enable")
        traffic.cdp = cdp
        return traffic

    def _sent(self, event: dict[str, Any]) -> None:
        url = event["request"]["url"]
        if url.startswith("data:"):
            return
        request_id = event["requestId"]
        if "redirectResponse" in event:  # each hop of a redirect is a request of its own
            hop = f"{request_id}:{len(self.urls)}"
            self.urls[hop] = self.urls.get(request_id, url)
            self.sizes[hop] = int(event["redirectResponse"].get("encodedDataLength", 0))
        self.urls[request_id] = url

    def _finished(self, event: dict[str, Any]) -> None:
        self.sizes[event["requestId"]] = int(event["encodedDataLength"])

    def _failed(self, event: dict[str, Any]) -> None:
        self.sizes.setdefault(event["requestId"], 0)

    def _waiting(self) -> list[str]:
        return [r for r, url in self.urls.items() if r not in self.sizes and not _favicon(url)]

    def settle(self, page: Any, quiet: float = 0.2, timeout: float = 10) -> None:
        """Wait until every request has finished and none has started for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.urls) != seen or self._waiting():
                seen, since = len(self.urls), time.monotonic()
            elif time.monotonic() - since >= quiet:
                # The cold load is over: what axe or the narrowed window then fetch (lazy
                # images that come into view at 320 px, say) is not part of it.
                self.cdp.detach()
                return
            page.wait_for_timeout(25)

    @property
    def total(self) -> int:
        return sum(self.sizes.get(r, _favicon(url)) for r, url in self.urls.items())

    def unfinished(self) -> list[str]:
        return [self.urls[r] for r in self._waiting()]

    def table(self) -> str:
        return "\n".join(f"    {self.sizes.get(r, 0):>7} B  {url}" for r, url in self.urls.items())


@dataclass
class PageVisit:
    """One cold visit of a main page, and what each test needs from it."""

    page: MainPage
    traffic: Traffic
    problems: list[str]
    socket_message: bool
    violations: list[dict[str, Any]]
    narrow_overflow: list[str]

    def summary(self) -> str:
        return (
            f"{self.page.name} ({self.page.path}) as {self.page.persona or 'anonyme'}: "
            f"{len(self.traffic.urls)} requests, {self.traffic.total / 1024:.1f} KB"
        )


@pytest.fixture(scope="session")
def _visits() -> dict[str, PageVisit]:
    return {}


@pytest.fixture
def visited(
    browse: Callable[..., Browsing], parvis: Parvis, main_page: MainPage, _visits: dict[str, PageVisit]
) -> PageVisit:
    """The page's visit: made in a fresh context by the first test that asks for it."""
    if main_page.name not in _visits:
        visit = browse(main_page.persona)
        traffic = Traffic.record(visit)
        visit.secrets.add(parvis.share_token)
        visit.go(main_page.url(parvis), main_page.status)
        traffic.settle(visit.page)
        socket_message = main_page.persona is None or visit.socket_message()
        problems = visit.console.problems + [f"CSP: {v}" for v in visit.csp_violations()]
        violations = visit.serious_accessibility_violations()
        visit.page.set_viewport_size({"width": NARROW, "height": 640})
        overflow = visit.page.evaluate(OVERFLOWING)
        _visits[main_page.name] = PageVisit(
            main_page, traffic, problems, socket_message, violations, overflow
        )
    return _visits[main_page.name]


def test_a_main_page_has_no_serious_accessibility_violation(visited: PageVisit) -> None:
    assert not visited.violations, f"{visited.summary()}\n{describe(visited.violations)}"


def test_a_main_page_is_light_on_a_cold_load(visited: PageVisit, parvis: Parvis) -> None:
    traffic = visited.traffic
    report = f"{visited.summary()}\n{traffic.table()}"
    print(report)
    assert len(traffic.urls) <= MAX_REQUESTS, report
    assert traffic.total <= MAX_BYTES, report
    assert not traffic.unfinished(), f"requests that never finished: {traffic.unfinished()}\n{report}"
    origin = urlsplit(parvis.url)
    elsewhere = [
        url
        for url in [*traffic.urls.values(), *traffic.sockets]
        if (urlsplit(url).hostname, urlsplit(url).port) != (origin.hostname, origin.port)
    ]
    assert not elsewhere, f"requests to another origin: {elsewhere}\n{report}"


def test_a_main_page_reflows_on_a_narrow_screen(visited: PageVisit) -> None:
    assert not visited.narrow_overflow, f"{visited.summary()}, at {NARROW}px: {visited.narrow_overflow}"


def test_a_main_page_runs_without_javascript_error_or_csp_violation(visited: PageVisit) -> None:
    assert not visited.problems, f"{visited.summary()}\n" + "\n".join(visited.problems)
    assert visited.socket_message, f"{visited.summary()}: no message on the notifications websocket"
