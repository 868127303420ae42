"""Every write of the discussion, as a named action: atomic, audited, news after commit.

Consumers (websocket), views (forms) and tests call these. A refusal raises `ChatError` with a
French message; nothing has changed when it is raised.

Each change takes the next number of its conversation (`_next_seq`, an UPDATE … RETURNING that
holds the conversation's row lock until commit), so changes commit in the order of their numbers
and a client can tell a gap from a quiet channel. The news goes out after commit, to the space's
group (a channel) or to each participant's group (a direct conversation): the message is
persisted before it is fanned out, and a rollback sends nothing.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from parvis.core import events, registry
from parvis.core.audit import Actor, audit
from parvis.core.models import Organisation, User
from parvis.core.notify import notify
from parvis.spaces.actions import touch
from parvis.spaces.models import Space

from . import markup, search
from .models import BODY_MAX, DIRECT_MAX, REACTIONS, Conversation, Message, Participant, Reaction, ReadMarker
from .policies import conversations, direct_allowed
from .sync import dumps, state, states

NAME_MAX = 80
ACTIVITY_EVERY = timedelta(minutes=1)  # how fresh a space's "last activity" is kept by messages
ATTACHMENTS = "documents.attachments"  # the service the documents tool provides


class ChatError(Exception):
    """A refusal the person is told of, in French."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- Groups and news ----------------------------------------------------------------------------


def space_group(space_id: int) -> str:
    return f"chat.space.{space_id}"


def user_group(user_id: int) -> str:
    return f"chat.user.{user_id}"


def groups_of(conversation: Conversation) -> list[str]:
    """Who hears of a change: every open discussion page of the space (a channel), or of each
    participant (a direct conversation)."""
    if conversation.is_channel:
        return [space_group(conversation.space_id)]  # type: ignore[arg-type]
    return [user_group(pk) for pk in conversation.participants.values_list("user_id", flat=True)]


def fan_out(conversation: Conversation, payload: dict[str, Any], brief: dict[str, Any] | None = None) -> None:
    """After commit, send `payload` to the pages showing this conversation and `brief` (what
    the unread counts need) to the other discussion pages of the same people. The JSON is
    encoded once here, not once per recipient."""
    text = dumps(payload)
    short = dumps(brief) if brief is not None else ""
    for group in groups_of(conversation):
        events.send_on_commit(
            [group],
            {
                "type": "chat.fanout",
                "group": group,
                "conversation": conversation.pk,
                "text": text,
                "brief": short,
            },
        )


def _changed(
    conversation: Conversation, seq: int, messages: list[Message], new: Message | None = None
) -> None:
    # A message just posted has no reaction yet: its state needs no look-up.
    shown = [state(new, [])] if messages == [new] else states(messages)
    payload = {"type": "event", "conversation": conversation.pk, "seq": seq, "messages": shown}
    brief = {
        "type": "activity",
        "conversation": conversation.pk,
        "seq": seq,
        "new": (new is not None and new.author_id) or 0,
    }
    fan_out(conversation, payload, brief)


def _touch(space: Space) -> None:
    """A space's recent activity, to the minute: a busy channel does not write its space's row
    at every message."""
    if timezone.now() - space.last_activity_at >= ACTIVITY_EVERY:
        touch(space)
        space.last_activity_at = timezone.now()


def _next_seq(conversation: Conversation, *, message: bool = False) -> int:
    table = Conversation._meta.db_table
    sets = "last_seq = last_seq + 1" + (", last_message_at = %s" if message else "")
    params: list[Any] = [timezone.now()] if message else []
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} WHERE id = %s RETURNING last_seq",  # noqa: S608 (no input in it)
            [*params, conversation.pk],
        )
        seq = int(cursor.fetchone()[0])
    conversation.last_seq = seq
    return seq


# --- Channels and direct conversations ----------------------------------------------------------


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ChatError(_("Give the channel a name."))
    if len(name) > NAME_MAX:
        raise ChatError(_("A channel name has at most %(n)d characters.") % {"n": NAME_MAX})
    return name


@transaction.atomic
def create_channel(
    actor: Actor, space: Space, name: str, topic: str = "", *, default: bool = False
) -> Conversation:
    """A new channel in the space, seen by everyone who reads the space."""
    name = clean_name(name)
    if Conversation.objects.filter(space=space, kind=Conversation.Kind.CHANNEL, name__iexact=name).exists():
        raise ChatError(_("A channel named “%(name)s” already exists in this space.") % {"name": name})
    channel = Conversation.objects.create(
        organisation=space.organisation,
        space=space,
        kind=Conversation.Kind.CHANNEL,
        name=name,
        topic=(topic or "").strip()[:250],
        is_default=default,
        created_by=actor.user,
    )
    audit(actor, "chat.channel_create", channel, organisation=space.organisation, data={"space": space.pk})
    touch(space)
    return channel


def default_channel(space: Space) -> Conversation | None:
    return Conversation.objects.filter(space=space, kind=Conversation.Kind.CHANNEL, is_default=True).first()


def ensure_default_channel(space: Space) -> Conversation:
    """The channel a space opens on, made the first time it is needed (at the space's creation,
    or when the discussion is switched on later)."""
    found = default_channel(space)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return create_channel(Actor.system(), space, _("General"), default=True)
    except (IntegrityError, ChatError):  # made meanwhile by another request, or the name is taken
        found = default_channel(space)
        if found is not None:
            return found
        first = (
            Conversation.objects.filter(space=space, kind=Conversation.Kind.CHANNEL).order_by("pk").first()
        )
        if first is None:
            raise
        return first


def channels_of(space: Space) -> list[Conversation]:
    found = list(
        Conversation.objects.filter(space=space, kind=Conversation.Kind.CHANNEL).order_by(
            "-is_default", "name"
        )
    )
    for channel in found:
        # The space already read, and its organisation: rights are checked on them, not re-read.
        channel.space = space
        if channel.organisation_id == space.organisation_id:
            channel.organisation = space.organisation
    return found


@transaction.atomic
def start_direct(actor: Actor, organisation: Organisation, people: Iterable[User]) -> Conversation:
    """The private conversation of exactly these people (the actor among them): the one they
    already have, or a new one."""
    me = actor.user
    assert me is not None
    everyone = {p.pk: p for p in [me, *people]}
    if len(everyone) < 2:
        raise ChatError(_("Choose at least one person to write to."))
    if len(everyone) > DIRECT_MAX:
        raise ChatError(_("A private conversation has at most %(n)d people.") % {"n": DIRECT_MAX})
    if not direct_allowed(list(everyone.values()), organisation.pk):
        raise ChatError(
            _(
                "You can write in private only to members of your organisation, and to an outside "
                "member only if you share a space with her."
            ),
            403,
        )
    same = (
        Conversation.objects.filter(kind=Conversation.Kind.DIRECT, organisation=organisation)
        .annotate(n=Count("participants"))
        .filter(n=len(everyone))
    )
    for pk in everyone:
        same = same.filter(pk__in=Participant.objects.filter(user_id=pk).values("conversation_id"))
    existing = same.first()
    if existing is not None:
        return existing
    conversation = Conversation.objects.create(
        organisation=organisation, kind=Conversation.Kind.DIRECT, created_by=me
    )
    Participant.objects.bulk_create([Participant(conversation=conversation, user_id=pk) for pk in everyone])
    audit(actor, "chat.direct_start", conversation, organisation=organisation, data={"people": len(everyone)})
    return conversation


def direct_title(conversation: Conversation, viewer: User | None) -> str:
    """The names of the other people of a direct conversation."""
    others = [
        str(p.user)
        for p in conversation.participants.select_related("user").order_by("user__full_name")
        if viewer is None or p.user_id != viewer.pk
    ]
    return ", ".join(others) or _("Only you")


def title_of(conversation: Conversation, viewer: User | None) -> str:
    return conversation.name if conversation.is_channel else direct_title(conversation, viewer)


def conversation_url(conversation: Conversation) -> str:
    org = conversation.organisation.slug
    if conversation.is_channel:
        space = conversation.space
        assert space is not None
        return reverse("chat:channel", args=[org, space.slug, conversation.pk])
    return reverse("chat:direct", args=[org, conversation.pk])


# --- Messages -----------------------------------------------------------------------------------


def _people(conversation: Conversation) -> list[markup.Person]:
    """Who can be mentioned: the people of the space (a channel) or the participants."""
    users = conversations.audience("mention", conversation)
    return [markup.Person(u.pk, str(u)) for u in users if str(u).strip()]


def _render(conversation: Conversation, body: str) -> markup.Rendered:
    people = _people(conversation) if "@" in body else []
    return markup.render(body, people, allow_all=conversation.is_channel)


def _clean_body(body: str, attachments: bool = False) -> str:
    body = (body or "").strip()
    if not body and not attachments:
        raise ChatError(_("Write a message first."))
    if len(body) > BODY_MAX:
        raise ChatError(_("A message has at most %(n)d characters.") % {"n": BODY_MAX})
    return body


def _mentioned_users(
    conversation: Conversation, rendered: markup.Rendered, author: User | None
) -> list[User]:
    ids = set(rendered.mentioned)
    users = list(User.objects.filter(pk__in=ids, is_active=True))
    if rendered.mentions_all and conversation.is_channel:
        users += list(conversations.audience("mention", conversation))
    found = {u.pk: u for u in users if author is None or u.pk != author.pk}
    return [u for u in found.values() if conversations.can(u, "view", conversation)]


def _tell(conversation: Conversation, message: Message, people: list[User], author: User | None) -> None:
    """Mentions and direct messages notify through the budget; one notification per person and
    message, whatever the reasons (mentioned and in a direct conversation)."""
    name = str(author) if author is not None else ""
    excerpt = markup.plain(message.body)[:300]
    if conversation.is_channel:
        if not people:
            return
        title = _("%(name)s mentioned you in “%(channel)s”") % {"name": name, "channel": conversation.name}
        kind, space_id = "chat.mention", conversation.space_id
    else:
        title = _("New private message from %(name)s") % {"name": name}
        kind, space_id = "chat.direct", None
    notify(
        people,
        organisation=conversation.organisation,
        kind=kind,
        title=title,
        body=excerpt,
        url=conversation_url(conversation) + f"#m-{message.pk}",
        space_id=space_id,
        exclude=author,
    )


def _read_up_to(user: User, conversation: Conversation, seq: int) -> None:
    updated = ReadMarker.objects.filter(conversation=conversation, user=user, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if not updated:
        ReadMarker.objects.get_or_create(
            conversation=conversation, user=user, defaults={"last_read_seq": seq}
        )


@dataclass(frozen=True)
class Posted:
    message: Message
    created: bool  # False: the same client id was already stored (a message sent again)


def post_message(
    actor: Actor,
    conversation: Conversation,
    body: str,
    *,
    client_id: uuid.UUID | str | None = None,
    parent: Message | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Posted:
    """Store a message, then tell. Sent again with the same client id (a page that lost its
    connection before the answer came), it is stored once and the first one is returned."""
    key = _client_id(client_id)
    for attempt in range(3):
        # Stored first, looked up only when storing fails: a page resends rarely, and every
        # message would otherwise pay the look-up. A resend is refused by the database (the
        # client id is unique), or by a check that changed since (the thread was deleted):
        # either way the message kept the first time is the answer.
        try:
            return Posted(_post(actor, conversation, body, key, parent, attachments or []), True)
        except ChatError:
            existing = _sent_before(conversation, actor.user, key)
            if existing is None:
                raise
            return Posted(existing, False)
        except IntegrityError:  # this client id is stored already (maybe by a concurrent request)
            existing = _sent_before(conversation, actor.user, key)
            if existing is not None:
                return Posted(existing, False)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _sent_before(conversation: Conversation, author: User | None, key: uuid.UUID) -> Message | None:
    """The message this page already sent with this client id, if any."""
    return Message.objects.filter(conversation=conversation, author=author, client_id=key).first()


def _client_id(value: uuid.UUID | str | None) -> uuid.UUID:
    if value is None or value == "":
        return uuid.uuid4()
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ChatError(_("The message could not be sent. Reload the page and try again.")) from None


@transaction.atomic
def _post(
    actor: Actor,
    conversation: Conversation,
    body: str,
    key: uuid.UUID,
    parent: Message | None,
    attachments: list[dict[str, Any]],
) -> Message:
    body = _clean_body(body, bool(attachments))
    if parent is not None:
        if parent.conversation_id != conversation.pk or parent.is_deleted:
            raise ChatError(_("This message can no longer be answered."), 404)
        if parent.parent_id is not None:  # threads have one level: answer the thread itself
            parent = Message.objects.get(pk=parent.parent_id)
    seq = _next_seq(conversation, message=True)
    rendered = _render(conversation, body)
    author = actor.user
    message = Message.objects.create(
        conversation=conversation,
        seq=seq,
        updated_seq=seq,
        author=author,
        client_id=key,
        parent=parent,
        body=body,
        html=rendered.html,
        search_terms=search.search_terms(body),
        mentioned=rendered.mentioned,
        mentions_all=rendered.mentions_all,
        links=rendered.links,
        attachments=attachments,
    )
    message.author = author
    changed = [message]
    if parent is not None:
        Message.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1, updated_seq=seq)
        parent.refresh_from_db()
        changed.append(parent)
    if author is not None:
        _read_up_to(author, conversation, seq)
    audit(
        actor,
        "chat.message_post",
        message,
        organisation=conversation.organisation,
        label=f"{conversation} #{seq}",
        data={"conversation": conversation.pk, "seq": seq, "files": len(attachments)},
    )
    if conversation.is_channel:
        _touch(conversation.space)  # type: ignore[arg-type]
        people = _mentioned_users(conversation, rendered, author)
    else:
        people = [p.user for p in conversation.participants.select_related("user")]
    _tell(conversation, message, people, author)
    _changed(conversation, seq, changed, new=message)
    return message


def post_with_files(
    actor: Actor,
    conversation: Conversation,
    body: str,
    files: list[tuple[str, Iterable[bytes]]],
    *,
    client_id: uuid.UUID | str | None = None,
    parent: Message | None = None,
) -> Posted:
    """Attachments go into the space's documents (through the service the documents tool
    provides, under its rights), then the message points to them; all in one transaction, so
    a refused file leaves neither the message nor the other files."""
    if not files:
        return post_message(actor, conversation, body, client_id=client_id, parent=parent)
    key = _client_id(client_id)
    existing = _sent_before(conversation, actor.user, key)  # its files are not stored twice
    if existing is not None:
        return Posted(existing, False)
    provider = registry.service(ATTACHMENTS)
    space = conversation.space
    if provider is None or space is None or not provider.available(space):
        raise ChatError(_("Files can be attached only in the channels of a space whose documents are on."))
    with transaction.atomic():
        stored = []
        for name, chunks in files:
            try:
                stored.append(provider.store(actor, space, name, chunks))
            except PermissionError:
                raise ChatError(_("You may not add files to this space's documents."), 403) from None
            except ValueError as refusal:
                raise ChatError(str(refusal)) from None
        return post_message(actor, conversation, body, client_id=key, parent=parent, attachments=stored)


@transaction.atomic
def edit_message(actor: Actor, message: Message, body: str) -> Message:
    """A new text, marked "modifié"; people mentioned for the first time are told."""
    conversation = message.conversation
    if message.is_deleted:
        raise ChatError(_("This message was deleted."), 409)
    body = _clean_body(body, bool(message.attachments))
    if body == message.body:
        return message
    seq = _next_seq(conversation)
    rendered = _render(conversation, body)
    before = set(message.mentioned) | ({0} if message.mentions_all else set())
    message.body, message.html, message.links = body, rendered.html, rendered.links
    message.search_terms = search.search_terms(body)
    message.mentioned, message.mentions_all = rendered.mentioned, rendered.mentions_all
    message.edited_at = timezone.now()
    message.updated_seq = seq
    message.save(
        update_fields=[
            "body",
            "html",
            "search_terms",
            "links",
            "mentioned",
            "mentions_all",
            "edited_at",
            "updated_seq",
        ]
    )
    audit(actor, "chat.message_edit", message, organisation=conversation.organisation, data={"seq": seq})
    if conversation.is_channel:
        fresh = markup.Rendered(
            rendered.html,
            [pk for pk in rendered.mentioned if pk not in before],
            rendered.mentions_all and 0 not in before,
        )
        _tell(conversation, message, _mentioned_users(conversation, fresh, actor.user), message.author)
    _changed(conversation, seq, [message])
    return message


@transaction.atomic
def delete_message(actor: Actor, message: Message) -> Message:
    """The text, reactions and links go; the place stays ("message supprimé"), with its thread.
    Attached files stay in the documents, where they are managed."""
    conversation = message.conversation
    if message.is_deleted:
        return message
    seq = _next_seq(conversation)
    message.deleted_at = timezone.now()
    message.body = message.html = message.search_terms = ""
    message.mentioned, message.links, message.attachments = [], [], []
    message.updated_seq = seq
    message.save(
        update_fields=[
            "deleted_at",
            "body",
            "html",
            "search_terms",
            "mentioned",
            "links",
            "attachments",
            "updated_seq",
        ]
    )
    Reaction.objects.filter(message=message).delete()
    mine = actor.user is not None and actor.user.pk == message.author_id
    audit(
        actor,
        "chat.message_delete",
        message,
        organisation=conversation.organisation,
        data={"seq": seq, "by_author": mine},
    )
    _changed(conversation, seq, [message])
    return message


@transaction.atomic
def toggle_reaction(actor: Actor, message: Message, emoji: str) -> bool:
    """Add the reaction, or take it back if she had given it. Returns whether it is on."""
    if emoji not in REACTIONS:
        raise ChatError(_("This reaction is not available."))
    if message.is_deleted:
        raise ChatError(_("This message was deleted."), 409)
    conversation = message.conversation
    seq = _next_seq(conversation)
    removed, _count = Reaction.objects.filter(message=message, user=actor.user, emoji=emoji).delete()
    if not removed:
        Reaction.objects.create(message=message, user=actor.user, emoji=emoji)
    Message.objects.filter(pk=message.pk).update(updated_seq=seq)
    message.updated_seq = seq
    audit(
        actor,
        "chat.reaction",
        message,
        organisation=conversation.organisation,
        data={"seq": seq, "on": not removed},
    )
    _changed(conversation, seq, [message])
    return not removed


def mark_read(user: User, conversation: Conversation, seq: int | None = None) -> int:
    """Where she stopped reading. Personal state that changes nothing anyone else sees, so it is
    not audited (like core's `mark_read` for notifications). Her other pages hear of it."""
    with transaction.atomic():
        top = conversation.messages.aggregate(top=Max("seq"))["top"] or 0
        seq = top if seq is None else max(0, min(seq, top))
        _read_up_to(user, conversation, seq)
        events.send_on_commit(
            [user_group(user.pk)],
            {
                "type": "chat.fanout",
                "group": user_group(user.pk),
                "conversation": conversation.pk,
                "text": dumps({"type": "read", "conversation": conversation.pk, "seq": seq}),
                "brief": dumps({"type": "read", "conversation": conversation.pk, "seq": seq}),
            },
        )
    return seq


UNREAD_CAP = 100  # counted up to here ("99+" beyond): a channel never read costs no full count


def unread_counts(user: User, conversation_ids: list[int]) -> dict[int, int]:
    """{conversation id: messages after her marker that others wrote, up to UNREAD_CAP}."""
    return {pk: count for pk, (_marker, count) in unread_state(user, conversation_ids).items()}


def unread_state(user: User, conversation_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{conversation id: (her read marker, messages after it that others wrote, up to
    UNREAD_CAP)}, in one query whose cost does not grow with the history: each conversation's
    count reads at most UNREAD_CAP rows of the (conversation, seq) index."""
    if not conversation_ids:
        return {}
    messages, markers = Message._meta.db_table, ReadMarker._meta.db_table
    parts, params = [], []
    for pk in conversation_ids:
        parts.append(
            "SELECT %s, m.seq, (SELECT COUNT(*) FROM (SELECT 1"  # noqa: S608 (no input in it)
            f" FROM {messages} WHERE conversation_id = %s AND seq > m.seq AND deleted_at IS NULL"
            " AND (author_id IS NULL OR author_id <> %s) LIMIT %s) AS unread)"
            f" FROM (SELECT COALESCE((SELECT last_read_seq FROM {markers}"
            " WHERE conversation_id = %s AND user_id = %s), 0) AS seq) AS m"
        )
        params += [pk, pk, user.pk, UNREAD_CAP, pk, user.pk]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {int(pk): (int(marker), int(n)) for pk, marker, n in cursor.fetchall()}
    return {pk: found.get(pk, (0, 0)) for pk in conversation_ids}


# --- Typing and export --------------------------------------------------------------------------


def typing_event(conversation: Conversation, user: User) -> list[tuple[str, dict[str, Any]]]:
    """Who is writing, to the pages of this conversation only (never stored)."""
    text = dumps({"type": "typing", "conversation": conversation.pk, "user": user.pk, "name": str(user)})
    return [
        (
            group,
            {
                "type": "chat.fanout",
                "group": group,
                "conversation": conversation.pk,
                "text": text,
                "brief": "",
            },
        )
        for group in groups_of(conversation)
    ]


@transaction.atomic
def record_export(actor: Actor, conversation: Conversation, kind: str, count: int) -> None:
    """An export takes the whole history out of Parvis: it is written in the journal."""
    audit(
        actor,
        "chat.export",
        conversation,
        organisation=conversation.organisation,
        data={"format": kind, "messages": count},
    )


def history(conversation: Conversation) -> list[dict[str, Any]]:
    """The whole conversation for an export, in order, threads after their first message."""
    messages = list(conversation.messages.select_related("author").order_by("seq"))
    by_parent: dict[int | None, list[Message]] = {}
    for m in messages:
        by_parent.setdefault(m.parent_id, []).append(m)
    ordered: list[dict[str, Any]] = []
    for root in by_parent.get(None, []):
        ordered.append({"m": root, "state": state(root), "reply": False})
        for reply in by_parent.get(root.pk, []):
            ordered.append({"m": reply, "state": state(reply), "reply": True})
    return ordered
