"""Rights in the discussion.

A channel belongs to a space: whoever may read the space (with the tool on) reads all its
channels; people with a role in it (reader included: taking part in a discussion is not
editing the space's content) post, react and start threads, while the space is not archived;
contributors open new channels; facilitators also remove anyone's message and export a
channel's history.

A direct conversation belongs to its participants, while they are active members of its
organisation. Its people are of one organisation; a guest may be in it only with people who
share a space with her, which is checked when it starts and again whenever she writes (a guest
who no longer shares a space with them reads the past, and cannot write).
"""

from django.db.models import Q, QuerySet

from parvis.core.models import OrgMembership, User
from parvis.core.policies import AnyUser, Policy, is_person, membership, org_ids
from parvis.spaces.models import Space
from parvis.spaces.policies import readable_spaces, role_in
from parvis.spaces.policies import spaces as space_policy

from .models import Conversation, Message

TOOL = "chat"


def tool_on(space: Space | None) -> bool:
    return space is not None and TOOL in (space.tools or [])


def tool_spaces() -> QuerySet[Space]:
    """Spaces with the discussion on (a JSON list matched as text: the same on SQLite and
    PostgreSQL)."""
    return Space.objects.filter(tools__icontains=f'"{TOOL}"')


def shares_a_space(a: User, b: User, organisation_id: int) -> bool:
    """Do two people both read some space of the organisation?"""
    return (
        readable_spaces(a).filter(organisation_id=organisation_id).filter(pk__in=readable_spaces(b)).exists()
    )


def direct_allowed(people: list[User], organisation_id: int) -> bool:
    """May these people talk together in private? All active members of the organisation, and
    every guest among them shares a space with each of the others."""
    memberships = {
        m.user_id: m
        for m in OrgMembership.objects.filter(
            organisation_id=organisation_id,
            organisation__is_active=True,
            user__in=people,
            is_active=True,
            user__is_active=True,
        )
    }
    if len(memberships) != len({p.pk for p in people}):
        return False
    for person in people:
        if memberships[person.pk].is_guest:
            for other in people:
                if other.pk != person.pk and not shares_a_space(person, other, organisation_id):
                    return False
    return True


class ConversationPolicy(Policy[Conversation]):
    model = Conversation
    actions = ("view", "post", "manage", "export")

    def can(self, user: AnyUser, action: str, obj: Conversation) -> bool:
        if not is_person(user):
            return False
        if obj.is_channel:
            space = obj.space
            if not tool_on(space) or not space_policy.can(user, "read", space):  # type: ignore[arg-type]
                return False
            if action == "view":
                return True
            if action == "post":
                return role_in(user, space) is not None and not space.is_archived  # type: ignore[union-attr, arg-type]
            if action in ("manage", "export"):
                return space_policy.can(user, "manage", space)  # type: ignore[arg-type]
            return False
        if membership(user, obj.organisation) is None:
            return False
        if not obj.participants.filter(user=user).exists():
            return False
        if action == "view":
            return True
        if action == "post":
            people = list(User.objects.filter(pk__in=obj.participants.values("user_id")))
            return direct_allowed(people, obj.organisation_id)
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Conversation] | None = None) -> QuerySet[Conversation]:
        if not is_person(user):
            return self.all(qs).none()
        channels = Q(
            kind=Conversation.Kind.CHANNEL,
            space__in=readable_spaces(user).filter(pk__in=tool_spaces().values("pk")),
        )
        return self.all(qs).filter(channels | self._direct(user))

    def visible_directs(self, user: AnyUser) -> QuerySet[Conversation]:
        """`visible(user)`'s private conversations, without building its channels' part (the
        private conversations' pages list nothing else)."""
        if not is_person(user):
            return self.all(None).none()
        return self.all(None).filter(self._direct(user))

    def _direct(self, user: AnyUser) -> Q:
        return Q(
            kind=Conversation.Kind.DIRECT,
            organisation_id__in=org_ids(user),
            pk__in=Conversation.objects.filter(participants__user=user).values("pk"),
        )

    def can_create_channel(self, user: AnyUser, space: Space) -> bool:
        return tool_on(space) and space_policy.can(user, "contribute", space)

    def audience(self, action: str, obj: Conversation) -> QuerySet[User]:
        """Who hears of a message that mentions everyone: the people with a role in the space
        (a channel), or the participants (a direct conversation)."""
        if obj.is_channel:
            assert obj.space is not None
            return User.objects.filter(
                Q(space_memberships__space=obj.space) | Q(parvis_groups__space_grants__space=obj.space),
                is_active=True,
            ).distinct()
        return User.objects.filter(pk__in=obj.participants.values("user_id"), is_active=True)


class MessagePolicy(Policy[Message]):
    """A message is seen by whoever sees its conversation; its author edits it, and she or the
    space's facilitators remove it."""

    model = Message
    actions = ("view", "change", "delete", "react")

    def can(self, user: AnyUser, action: str, obj: Message) -> bool:
        conversation = obj.conversation
        if action == "view":
            return conversations.can(user, "view", conversation)
        if obj.is_deleted:
            return False
        if action == "react":
            return conversations.can(user, "post", conversation)
        mine = is_person(user) and obj.author_id == user.pk
        if action == "change":
            return mine and conversations.can(user, "post", conversation)
        if action == "delete":
            return (mine and conversations.can(user, "post", conversation)) or conversations.can(
                user, "manage", conversation
            )
        return False

    def visible(self, user: AnyUser, qs: QuerySet[Message] | None = None) -> QuerySet[Message]:
        return self.all(qs).filter(conversation__in=conversations.visible(user))

    def visible_in(self, user: AnyUser, conversation: Conversation) -> QuerySet[Message]:
        """`visible()` within one conversation: all of its messages or none. The same rows,
        without the subquery over every conversation she sees, which the pages and the
        socket would otherwise build again for each list they show."""
        qs = self.model._default_manager.filter(conversation=conversation)
        return qs if conversations.can(user, "view", conversation) else qs.none()


conversations = ConversationPolicy()
messages_policy = MessagePolicy()
