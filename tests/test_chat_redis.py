"""The discussion in the scale setup: two Parvis web processes (`manage.py serve`, production
settings) behind one address, sharing one database and one Redis. A page is connected to
whichever process the load balancer chose; what is posted through one must reach the pages held
by the other, in order and numbered, and a message sent again through the other process after a
cut is still stored once.

The clients are plain websockets (the `websockets` package, as a browser would speak), signed in
through the real sign-in form. Redis is expected at 127.0.0.1:6379 (or PARVIS_TEST_REDIS); its
absence skips these tests on a developer's machine and fails them in CI (CI=true).
"""

import json
import os
import re
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from conftest import Secrets
from tests.support.instance import Instance, free_port, instance

pytestmark = pytest.mark.slow

REDIS = os.environ.get("PARVIS_TEST_REDIS", "redis://127.0.0.1:6379")
SPARE_DBS = range(15, 7, -1)  # databases a test may take for itself, if nobody uses them
QUIET = 12  # seconds: more than two of channels_redis's 5-second blocking pops

SEED = """
import json
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from parvis.chat import actions
from parvis.core.audit import Actor
from parvis.core.models import User
from parvis.core.tests.factories import PASSWORD, build_world
from parvis.spaces.models import Space

with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    w = build_world()
User.objects.update(password=make_password(PASSWORD))
Space.objects.update(tools=["chat"])
w.commission.refresh_from_db()
channel = actions.ensure_default_channel(w.commission)
direct = actions.start_direct(Actor(w.maire), w.org, [w.elu])
print(json.dumps({
    "emails": {name: w.persona(name).email for name in ("maire", "elu")},
    "channel": channel.pk,
    "direct": direct.pk,
}))
"""


def _missing(message: str) -> None:
    """A skip on a developer's machine, a failure in CI (nothing may be skipped there for lack
    of a service)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_redis_db() -> int:
    """A Redis database nobody is using (the machine is shared), emptied again afterwards."""
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except redis.RedisError as error:
        _missing(f"Redis does not answer at {REDIS} ({error}); start it, or set PARVIS_TEST_REDIS")
    for db in SPARE_DBS:
        spare = redis.Redis.from_url(f"{REDIS}/{db}")
        # Claimed with SET NX: two test workers that both found it empty do not both take it
        # (they did, and each farm then heard the other's messages).
        if spare.dbsize() == 0 and spare.set("parvis-test:claimed", str(os.getpid()), nx=True, ex=3600):
            return db
    _missing(f"no empty Redis database among {list(SPARE_DBS)} at {REDIS}")
    raise AssertionError("unreachable")


@dataclass
class Farm:
    """One instance, two web processes."""

    inst: Instance
    ports: tuple[int, int]
    emails: dict[str, str]
    ids: dict[str, int]

    def url(self, process: int) -> str:
        return f"http://127.0.0.1:{self.ports[process]}"


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    import redis

    db = _free_redis_db()
    try:
        root = tmp_path_factory.mktemp("chat-redis")
        with instance(root, "chat-redis", {"REDIS_URL": f"{REDIS}/{db}"}) as inst:
            seeded = json.loads(inst.python(SEED).strip().splitlines()[-1])
            second = free_port()
            inst.start_server()
            inst.start_server(port=second)
            emails = seeded.pop("emails")
            yield Farm(inst, (inst.port, second), emails, seeded)
    finally:
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


def sign_in(base_url: str, email: str) -> str:
    """Through the sign-in form, as a person would; returns the session cookie."""
    from parvis.core.tests.factories import PASSWORD

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base_url + "/connexion/", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, "the sign-in form has no CSRF token"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "email": email, "password": PASSWORD}
    ).encode()
    with opener.open(base_url + "/connexion/", data=data, timeout=10) as response:
        assert response.status == 200
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    assert session, f"{email} could not sign in"
    return session


@pytest.fixture(scope="module")
def _sessions() -> dict[str, str]:
    return {}


@pytest.fixture
def session_of(farm: Farm, _sessions: dict[str, str], secrets_registry: Secrets) -> Callable[[str], str]:
    """Each persona signs in once (through process A); the session is good on both processes,
    which share the database."""

    def get(persona: str) -> str:
        if persona not in _sessions:
            _sessions[persona] = sign_in(farm.url(0), farm.emails[persona])
            secrets_registry.add(_sessions[persona])
        return _sessions[persona]

    return get


class Page:
    """A discussion page's websocket, held by one of the two processes."""

    def __init__(self, farm: Farm, process: int, session: str, conversation: int) -> None:
        origin = farm.url(process)
        self.stack = ExitStack()
        self.socket: ClientConnection = self.stack.enter_context(
            connect(
                origin.replace("http", "ws", 1) + f"/ws/discussion/{conversation}/",
                origin=origin,  # type: ignore[arg-type]
                additional_headers={"Cookie": f"sessionid={session}"},
                open_timeout=10,
            )
        )
        self.unread: list[dict[str, Any]] = []  # frames received, not yet asked for
        assert self.next("ready")["conversation"] == conversation
        self.socket.send(json.dumps({"type": "sync", "after": 0}))
        self.head = self.next("sync")["head"]

    def next(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The first frame of that type not yet asked for, in the order they came."""
        for i, frame in enumerate(self.unread):
            if frame["type"] == kind:
                return self.unread.pop(i)
        while True:
            frame = json.loads(self.socket.recv(timeout=timeout))
            if frame["type"] == kind:
                return frame
            self.unread.append(frame)

    def post(self, body: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or str(uuid.uuid4())
        self.socket.send(json.dumps({"type": "post", "client_id": client_id, "body": body}))
        ack = self.next("ack")
        assert ack["client_id"] == client_id, ack
        return ack

    def events(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        return [self.next("event", timeout) for _ in range(count)]

    def no_more_events(self, wait: float = 1.5) -> list[dict[str, Any]]:
        """The events that arrive within `wait` seconds (there should be none)."""
        late = []
        try:
            while True:
                late.append(self.next("event", timeout=wait))
        except TimeoutError:
            return late

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def page(farm: Farm, session_of: Callable[[str], str]) -> Iterator[Callable[..., Page]]:
    """`page("elu", process=1, conversation=…)`: a page of that persona on process A (0) or B (1)."""
    opened: list[Page] = []

    def open_page(persona: str, process: int, conversation: int) -> Page:
        opened.append(Page(farm, process, session_of(persona), conversation))
        return opened[-1]

    yield open_page
    for p in opened:
        p.close()


def bodies(events: list[dict[str, Any]]) -> list[str]:
    return [state["src"] for event in events for state in event["messages"]]


def test_messages_posted_through_one_process_reach_a_page_on_the_other_in_order(
    farm: Farm, page: Callable[..., Page]
) -> None:
    channel = farm.ids["channel"]
    elu_on_b = page("elu", process=1, conversation=channel)
    maire_on_a = page("maire", process=0, conversation=channel)
    assert maire_on_a.head == elu_on_b.head

    said = ["Ordre du jour de jeudi", "Point 1 : budget primitif", "Point 2 : travaux de voirie"]
    acks = [maire_on_a.post(body) for body in said]
    assert all(ack["created"] for ack in acks)

    received = elu_on_b.events(3)
    assert [e["seq"] for e in received] == [a["seq"] for a in acks]
    assert [e["seq"] for e in received] == list(range(elu_on_b.head + 1, elu_on_b.head + 4))
    assert bodies(received) == said
    assert [e["messages"][0]["id"] for e in received] == [a["id"] for a in acks]
    assert {e["messages"][0]["name"] for e in received} == {"Claire Martin"}

    # And back: Paul answers through process B, Claire's page on A sees it next in line.
    answer = elu_on_b.post("Bien reçu, merci.")
    heard = [e for e in maire_on_a.events(4) if e["seq"] == answer["seq"]]
    assert bodies(heard) == ["Bien reçu, merci."]
    assert answer["seq"] == acks[-1]["seq"] + 1


def test_a_private_message_reaches_the_other_person_on_the_other_process(
    farm: Farm, page: Callable[..., Page]
) -> None:
    direct = farm.ids["direct"]
    elu_on_b = page("elu", process=1, conversation=direct)
    maire_on_a = page("maire", process=0, conversation=direct)

    ack = maire_on_a.post("Pouvez-vous relire la délibération ?")
    (received,) = elu_on_b.events(1)
    assert received["conversation"] == direct
    assert received["seq"] == ack["seq"] == elu_on_b.head + 1
    assert bodies([received]) == ["Pouvez-vous relire la délibération ?"]


def test_a_message_sent_again_through_the_other_process_after_a_cut_is_stored_once(
    farm: Farm, page: Callable[..., Page]
) -> None:
    channel = farm.ids["channel"]
    elu_on_b = page("elu", process=1, conversation=channel)
    first = page("maire", process=0, conversation=channel)
    client_id = str(uuid.uuid4())
    ack = first.post("Le conseil est reporté au 12.", client_id)
    first.close()  # the answer came, but say the page never saw it and reconnected elsewhere
    again = page("maire", process=1, conversation=channel).post("Le conseil est reporté au 12.", client_id)
    assert again["id"] == ack["id"]
    assert again["seq"] == ack["seq"]
    assert ack["created"] is True
    assert again["created"] is False

    (received,) = elu_on_b.events(1)
    assert bodies([received]) == ["Le conseil est reporté au 12."]
    assert elu_on_b.no_more_events() == []


def test_a_page_left_quiet_longer_than_the_layers_wait_still_hears_the_next_message(
    farm: Farm, page: Callable[..., Page]
) -> None:
    """A consumer waits on Redis in blocking pops of a few seconds each; a page open for a
    while with nothing said must not lose its socket to a read timeout in between."""
    channel = farm.ids["channel"]
    elu_on_b = page("elu", process=1, conversation=channel)
    maire_on_a = page("maire", process=0, conversation=channel)
    time.sleep(QUIET)
    ack = maire_on_a.post("Quelqu'un est encore là ?")
    (received,) = elu_on_b.events(1)
    assert received["seq"] == ack["seq"]
    assert bodies([received]) == ["Quelqu'un est encore là ?"]
