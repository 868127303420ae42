"""What the benchmarks put into a Parvis instance, run inside it by `Parvis.seed()` (Django is
set up by `manage.py shell`). Everything goes through the GED's actions, as the web and WebDAV
do; each function returns JSON-able data.

The people are the test personas (parvis/core/tests/factories.py): the benchmarks speak WebDAV
as `elu`, a contributor of the council's space ("conseil") — not a manager, so every request
goes through the rights of the space and of the folders.
"""

import base64
import io
from pathlib import Path
from typing import Any

SPACE_PATH = "/saint-aubin/conseil"


def world() -> dict[str, Any]:
    """The personas, documents on in every space, a folder `Bench` and elu's app password."""
    from django.test import override_settings

    from parvis.core.audit import Actor
    from parvis.core.auth import create_app_password
    from parvis.core.tests.factories import build_world
    from parvis.documents import actions
    from parvis.spaces.models import Space

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        w = build_world()
    Space.objects.update(tools=["documents"])
    actions.create_folder(Actor(w.maire), actions.root_folder(w.council), "Bench")
    _app_password, secret = create_app_password(Actor(None), w.elu, "Banc d'essai WebDAV")
    return {"email": w.elu.email, "secret": secret, "space": SPACE_PATH}


def _folder(path: str) -> Any:
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions
    from parvis.spaces.models import Space

    council = Space.objects.get(slug="conseil", organisation__slug="saint-aubin")
    maire = Actor(User.objects.get(email__startswith="maire"))
    return actions.ensure_path(maire, actions.root_folder(council), [p for p in path.split("/") if p])


def big_file(source: str, folder: str, name: str) -> dict[str, Any]:
    """`source` (a large file) stored as folder/name, written by elu; returns its blob path."""
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions
    from parvis.documents.storage import CHUNK, blob_store

    spool = blob_store().spool()
    with open(source, "rb") as f:
        while chunk := f.read(4 * CHUNK):
            spool.write(chunk)
    elu = Actor(User.objects.get(email__startswith="elu"))
    stored = actions.store_spool(elu, _folder(folder), name, spool)
    sha = stored.version.sha256
    return {"sha": sha, "blob": str(blob_store().path(sha)), "size": stored.version.size}


def many_files(folder: str, count: int, mirror: str) -> dict[str, Any]:
    """`count` small files in folder (one version each, as an upload makes them), and the same
    names and bytes written under `mirror` for the peer."""
    from parvis.core.audit import Actor
    from parvis.core.models import User
    from parvis.documents import actions

    target = _folder(folder)
    maire = Actor(User.objects.get(email__startswith="maire"))
    out = Path(mirror)
    out.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        name = f"délibération-{n:05d}.txt"
        data = f"Délibération n° {n} du conseil municipal\n".encode() * 8
        actions.store_bytes(maire, target, name, data)
        (out / name).write_bytes(data)
    return {"count": count}


def count_queries(email: str, secret: str, paths: list[str], body: str) -> dict[str, Any]:
    """SQL queries of one PROPFIND depth 1 on each path (once the credential is remembered, as
    for a client that sends it on every request), counted in-process on the WSGI app /dav/
    serves — the same method as parvis/documents/tests/test_webdav_queries.py."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from lxml import etree

    from parvis.documents.webdav.app import wsgidav_app

    app = wsgidav_app()
    token = "Basic " + base64.b64encode(f"{email}:{secret}".encode()).decode()

    def call(path: str, depth: str, data: bytes) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "PROPFIND",
            "SCRIPT_NAME": "/dav",
            "PATH_INFO": path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": token,
            "HTTP_DEPTH": depth,
            "CONTENT_TYPE": "application/xml",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        status: list[str] = []
        chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
        data = b"".join(chunks)  # the status comes with the first chunk
        return status[0], data

    call("/", "0", b"")  # the credential is checked once, then remembered
    found = {}
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            status, data = call(path, "1", body.encode())
        assert status.startswith("207"), status
        responses = len(etree.fromstring(data).findall("{DAV:}response"))
        found[path] = {"queries": len(queries), "responses": responses}
    return found


def quota_cost(counts: list[int]) -> dict[str, float]:
    """Milliseconds of one `actions.usage()` (the quota check, run twice per upload) once the
    organisation holds each of `counts` versions (rows bulk-inserted, one shared blob)."""
    import time

    from parvis.documents import actions
    from parvis.documents.models import Blob, Document, Version
    from parvis.spaces.models import Space

    space = Space.objects.get(slug="conseil", organisation__slug="saint-aubin")
    folder = actions.root_folder(space)
    blob = Blob.objects.create(sha256="0" * 64, size=4096)
    done, found = 0, {}
    for target in counts:
        while done < target:
            n = min(5000, target - done)
            docs = Document.objects.bulk_create(
                [Document(space=space, folder=folder, name=f"quota-{done + i}.txt") for i in range(n)]
            )
            Version.objects.bulk_create([Version(document=d, number=1, blob=blob, size=4096) for d in docs])
            done += n
        actions.usage(space.organisation)
        start = time.perf_counter()
        for _ in range(20):
            actions.usage(space.organisation)
        found[str(target)] = (time.perf_counter() - start) / 20 * 1000
    return found


# --- Discussion (G5, G6) ------------------------------------------------------------------------


def chat_world(
    people: int,
    role: str = "reader",
    spaces: int = 1,
    channels: int = 1,
    history: int = 0,
    directs: bool = False,
) -> dict[str, Any]:
    """The personas with the discussion on; `spaces` spaces (the council's first, then
    "Commission NN" spaces open to the organisation) with `channels` channels each (the
    default one first); `people` more members of the organisation, member n of space
    n % spaces with `role`; a signed-in session for each of them and for elu (a contributor
    of the council: the sender of G5), made as the test client's `force_login` makes one, plus
    the record a sign-in leaves (`UserSession`), so the websocket's session check passes.
    `history` messages are spread evenly over all the channels, inserted in bulk (rows as
    `post_message` writes them, numbered 1…n; not audited). With `directs`, members 2k and
    2k + 1 share a private conversation.

    Returns the session cookie's name, the organisation's slug, elu's session key, and for each
    member: her session key, her space, her private conversation; for each space its slug and
    channels, for each channel its last number and the ids of its messages."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.test import override_settings

    from parvis.chat import actions as chat
    from parvis.chat.models import Conversation, Message, Participant
    from parvis.core.audit import Actor
    from parvis.core.models import OrgMembership, User, UserSession
    from parvis.core.tests.factories import build_world
    from parvis.spaces.models import Space, SpaceMembership, Visibility

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        w = build_world()
    Space.objects.update(tools=["documents", "chat"])
    rooms = [Space.objects.get(pk=w.council.pk)]
    for n in range(1, spaces):
        rooms.append(
            Space.objects.create(
                organisation=w.org,
                name=f"Commission {n:02d}",
                slug=f"commission-{n:02d}",
                visibility=Visibility.ORGANISATION,
                tools=["documents", "chat"],
            )
        )
    by_space: dict[int, list[Conversation]] = {}
    for room in rooms:
        by_space[room.pk] = [chat.ensure_default_channel(room)]
        for n in range(1, channels):
            by_space[room.pk].append(chat.create_channel(Actor(w.maire), room, f"Sujet {n:02d}"))
    unusable = make_password(None)
    users = User.objects.bulk_create(
        [
            User(email=f"membre{n:05d}@exemple.localhost", full_name=f"Membre {n:05d}", password=unusable)
            for n in range(people)
        ]
    )
    OrgMembership.objects.bulk_create([OrgMembership(organisation=w.org, user=u) for u in users])
    SpaceMembership.objects.bulk_create(
        [SpaceMembership(space=rooms[n % spaces], user=u, role=role) for n, u in enumerate(users)]
    )
    keys = [_sign_in(u) for u in users]
    sender = _sign_in(w.elu)
    UserSession.objects.bulk_create(
        [UserSession(session_key=k, user=u) for k, u in zip([*keys, sender], [*users, w.elu], strict=True)]
    )
    direct_of: list[int | None] = [None] * people
    if directs:
        pairs = Conversation.objects.bulk_create(
            [
                Conversation(organisation=w.org, kind=Conversation.Kind.DIRECT, created_by=users[k])
                for k in range(0, people - 1, 2)
            ]
        )
        Participant.objects.bulk_create(
            [Participant(conversation=c, user=users[2 * i + j]) for i, c in enumerate(pairs) for j in (0, 1)]
        )
        for i, c in enumerate(pairs):
            direct_of[2 * i] = direct_of[2 * i + 1] = c.pk
    every = [c.pk for room in rooms for c in by_space[room.pk]]
    if history:
        _history(every, [u.pk for u in users] or [w.elu.pk], history)
    heads = dict(Conversation.objects.filter(pk__in=every).values_list("pk", "last_seq"))
    ids: dict[int, list[int]] = {pk: [0, 0] for pk in every}
    for pk, low, high in _id_ranges(Message, every):
        ids[pk] = [low, high]
    return {
        "cookie": settings.SESSION_COOKIE_NAME,
        "org": w.org.slug,
        "sender": sender,
        "sessions": keys,
        "users": [u.pk for u in users],
        "space_of": [n % spaces for n in range(people)],
        "direct_of": direct_of,
        "spaces": [
            {
                "slug": room.slug,
                "channels": [{"id": c.pk, "head": heads[c.pk], "ids": ids[c.pk]} for c in by_space[room.pk]],
            }
            for room in rooms
        ],
        "channels": {c.pk: heads[c.pk] for room in rooms for c in by_space[room.pk]},
    }


def _id_ranges(model: Any, conversations: list[int]) -> list[tuple[int, int, int]]:
    from django.db.models import Max, Min

    rows = (
        model.objects.filter(conversation_id__in=conversations)
        .values("conversation_id")
        .annotate(low=Min("pk"), high=Max("pk"))
    )
    return [(r["conversation_id"], r["low"], r["high"]) for r in rows]


def _sign_in(user: Any) -> str:
    """A session as `Client.force_login` makes one, "seen" ahead of time so that no request of
    a run writes to it (SessionLifetimeMiddleware touches it every few minutes otherwise)."""
    import time

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    now = time.time() + 3600
    store.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            "auth_at": now,
            "seen_at": now,
        }
    )
    store.create()
    return str(store.session_key)


def _history(channels: list[int], authors: list[int], count: int) -> None:
    """`count` messages over `channels` in one INSERT … SELECT per channel (PostgreSQL), each
    channel's numbers 1…n and its `last_seq` set to n, one minute apart."""
    from django.db import connection, transaction

    from parvis.chat.models import Conversation, Message
    from parvis.chat.search import search_terms

    if connection.vendor != "postgresql":
        raise SystemExit("the discussion's history is seeded on PostgreSQL only")
    table = Message._meta.db_table
    each = count // len(channels)
    # The text is "Message n° <n>" and a fixed sentence; so are its search terms.
    head = "Message n° "
    tail = " du conseil : point sur la voirie, le budget et le calendrier des travaux de l'école."
    head_terms, tail_terms = search_terms(head), search_terms(tail)
    assert search_terms(f"{head}7{tail}") == f"{head_terms} 7 {tail_terms}"
    with transaction.atomic(), connection.cursor() as cursor:
        for pk in channels:
            cursor.execute(
                f"""
                INSERT INTO {table} (conversation_id, seq, updated_seq, author_id, client_id, body,
                    html, search_terms, mentioned, mentions_all, links, attachments, reply_count, created_at)
                SELECT %s, n, n, (%s::bigint[])[1 + n %% %s], gen_random_uuid(), b, '<p>' || b || '</p>',
                    %s || ' ' || n || ' ' || %s, '[]', false, '[]', '[]', 0,
                    now() - (%s - n) * interval '1 minute'
                FROM (SELECT n, %s || n || %s AS b FROM generate_series(1, %s) AS n) AS s
                """,  # noqa: S608 (no input in it)
                [pk, authors, len(authors), head_terms, tail_terms, each, head, tail, each],
            )
            Conversation.objects.filter(pk=pk).update(last_seq=each)
    # Vacuumed as an old history would be: otherwise autovacuum wakes up for the million new
    # rows (and merges their search terms into the GIN index) during the first measured step.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")
