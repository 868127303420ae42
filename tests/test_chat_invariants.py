"""The discussion's rights on random worlds: for the conversation and message policies,
`visible()` is exactly what `can(view)` allows, for every person and the anonymous visitor; and
whoever may post, react, edit or delete may see what she acts on.

Hypothesis builds random communes, people, roles, groups and spaces (as for the other
policies), switches the discussion on or off in each space, opens channels in them and private
conversations between random people of a commune (guests included, as the data may hold after
people leave spaces), and writes messages (some deleted) in all of them.
"""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from parvis.chat.models import Conversation, Message, Participant
from parvis.chat.policies import conversations, messages_policy
from parvis.core.models import OrgMembership, User
from parvis.spaces.models import Space
from tests.test_policy_invariants import EXAMPLES, MAX_USERS, build, world_specs

chat_specs = st.fixed_dictionaries(
    {
        "tool": st.lists(st.booleans(), min_size=5, max_size=5),  # the discussion on, per space
        "channels": st.lists(st.integers(0, 4), max_size=5),  # a channel in the n-th space
        "directs": st.lists(
            st.tuples(st.integers(0, 2), st.sets(st.integers(0, MAX_USERS - 1), min_size=2, max_size=3)),
            max_size=4,
        ),  # (commune, people)
        "messages": st.lists(
            st.tuples(st.integers(0, 8), st.integers(0, MAX_USERS - 1), st.booleans()), max_size=8
        ),
    }
)


def build_chat(spec: dict[str, Any], users: list[User]) -> None:
    spaces = list(Space.objects.order_by("pk"))
    for space, on in zip(spaces, spec["tool"], strict=False):
        space.tools = ["chat"] if on else []
        space.save(update_fields=["tools"])
    made: list[Conversation] = []
    for n, index in enumerate(spec["channels"]):
        if index < len(spaces):
            space = spaces[index]
            made.append(
                Conversation.objects.create(organisation=space.organisation, space=space, name=f"C{n}")
            )
    orgs = list({m.organisation for m in OrgMembership.objects.select_related("organisation")})
    orgs.sort(key=lambda o: o.pk)
    for org_index, people in spec["directs"]:
        if org_index < len(orgs):
            chosen = [users[i] for i in people if i < len(users)]
            if len(chosen) >= 2:
                direct = Conversation.objects.create(
                    organisation=orgs[org_index], kind=Conversation.Kind.DIRECT
                )
                Participant.objects.bulk_create([Participant(conversation=direct, user=u) for u in chosen])
                made.append(direct)
    for n, (conversation_index, author_index, deleted) in enumerate(spec["messages"]):
        if conversation_index < len(made) and author_index < len(users):
            from django.utils import timezone

            Message.objects.create(
                conversation=made[conversation_index],
                seq=n + 1,
                updated_seq=n + 1,
                author=users[author_index],
                body=f"m{n}",
                deleted_at=timezone.now() if deleted else None,
            )


def mismatches(users: list[User]) -> list[str]:
    found = []
    people = [AnonymousUser(), *User.objects.filter(pk__in=[u.pk for u in users])]
    all_conversations = list(Conversation.objects.select_related("space__organisation", "organisation"))
    all_messages = list(Message.objects.select_related("conversation__space__organisation"))
    for person in people:
        for policy, everything in ((conversations, all_conversations), (messages_policy, all_messages)):
            allowed = {o.pk for o in everything if policy.can(person, "view", o)}
            listed = list(policy.visible(person).values_list("pk", flat=True))
            if len(listed) != len(set(listed)):
                found.append(f"{type(policy).__name__}: duplicates for {person}")
            if set(listed) != allowed:
                found.append(
                    f"{type(policy).__name__} for {person}: visible {sorted(listed)}, can {sorted(allowed)}"
                )
        directs = set(conversations.visible_directs(person).values_list("pk", flat=True))
        if directs != {
            c.pk for c in all_conversations if not c.is_channel and conversations.can(person, "view", c)
        }:
            found.append(f"visible_directs({person}) is not visible()'s private conversations")
        seen = set(messages_policy.visible(person).values_list("pk", flat=True))
        for conversation in all_conversations:
            inside = set(messages_policy.visible_in(person, conversation).values_list("pk", flat=True))
            if inside != {
                m.pk for m in all_messages if m.conversation_id == conversation.pk and m.pk in seen
            }:
                found.append(f"visible_in({person}, {conversation.pk}) is not visible() in it")
            for action in ("post", "manage", "export"):
                if conversations.can(person, action, conversation) and not conversations.can(
                    person, "view", conversation
                ):
                    found.append(f"{person} may {action} in {conversation.pk} without seeing it")
        for message in all_messages:
            for action in ("change", "delete", "react"):
                if messages_policy.can(person, action, message) and not messages_policy.can(
                    person, "view", message
                ):
                    found.append(f"{person} may {action} message {message.pk} without seeing it")
    return found


class ChatVisibleMatchesCanView(TestCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(world_specs, chat_specs)
    def test_visible_returns_exactly_what_can_view_allows(
        self, spec: dict[str, Any], chat: dict[str, Any]
    ) -> None:
        users = build(spec)
        build_chat(chat, users)
        assert mismatches(users) == []
