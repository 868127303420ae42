"""Pages of the discussion: a space's channels, direct conversations, threads, search, export,
and the forms that post, edit, delete, react and mark as read without JavaScript.

Every view starts with an access helper: `chat_space()` (404 when the space is not visible or
the tool is off) or `conversation_or_404()` (the same 404 for missing and not yours; the space's
second factor enforced for channels). The page script (frontend/src/chat.js) does the same
things over the websocket; both call the same actions.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from parvis.core import fulltext, policies, registry
from parvis.core.audit import actor_from
from parvis.core.models import Organisation, OrgMembership, User
from parvis.core.views.common import page, posted, refuse
from parvis.spaces.models import Space
from parvis.spaces.policies import readable_spaces
from parvis.spaces.views.spaces import get_space, space_page

from . import actions, markup
from .actions import ATTACHMENTS, ChatError
from .forms import (
    ChannelForm,
    DirectForm,
    EditForm,
    MessageForm,
    PersonSearchForm,
    ReactionForm,
    SearchForm,
)
from .models import REACTIONS, Conversation, Message, Participant
from .policies import TOOL, conversations, messages_policy, tool_on
from .previews import Cache, preview
from .render import Labels, message_html, preview_html
from .search import matching
from .sync import states

ROOTS_PER_PAGE = 50
SEARCH_RESULTS = 50
EXCERPT = 240  # characters shown of a message whose match `highlight` does not see
PEOPLE_SHOWN = 20  # the people picker's matches; more asks her to refine the search


# --- Access helpers -----------------------------------------------------------------------------


def chat_space(
    request: HttpRequest, org_slug: str, space_slug: str, action: str = "read"
) -> tuple[Organisation, Space]:
    org, space = get_space(request, org_slug, space_slug, action)
    if not tool_on(space):
        raise Http404
    return org, space


def conversation_or_404(request: HttpRequest, org_slug: str, pk: int) -> tuple[Organisation, Conversation]:
    """The conversation if she may see it; for a channel, through the space's own helper too
    (the space's second factor)."""
    org = policies.get_organisation(request.user, org_slug)
    qs = Conversation.objects.select_related("space__organisation", "organisation")
    conversation = policies.get_or_404(conversations, request.user, qs, organisation=org, pk=pk)
    if conversation.space is not None:
        get_space(request, org.slug, conversation.space.slug)
    return org, conversation


def message_or_404(request: HttpRequest, conversation: Conversation, mid: int) -> Message:
    qs = Message.objects.select_related(
        "author", "conversation__space__organisation", "conversation__organisation"
    )
    return policies.get_or_404(messages_policy, request.user, qs, conversation=conversation, pk=mid)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def refused(
    request: HttpRequest, org: Organisation, conversation: Conversation, error: ChatError
) -> HttpResponse:
    """Bad input: a French message, nothing changed (JSON for the page script)."""
    if wants_json(request):
        return JsonResponse({"error": error.message}, status=error.status)
    if error.status == 403:
        raise PermissionDenied
    if error.status == 404:
        raise Http404
    return refuse(
        request, org, error.message, actions.conversation_url(conversation), _("Back to the conversation")
    )


# --- What a conversation page shows -------------------------------------------------------------


def _display(items: list[dict[str, Any]], cache: Cache) -> list[dict[str, Any]]:
    for item in items:
        item["previews"] = cache.of(item)
        item["when"] = timezone.datetime.fromisoformat(item["at"])
    return items


def _attach_allowed(user: User, conversation: Conversation) -> bool:
    provider = registry.service(ATTACHMENTS)
    space = conversation.space
    return bool(
        provider is not None
        and space is not None
        and provider.available(space)
        and provider.can_attach(user, space)
    )


def conversation_context(
    request: HttpRequest,
    conversation: Conversation,
    thread: Message | None = None,
    unread: dict[int, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The messages (the last fifty threads, or older ones with ?avant=N; or one thread), the
    number the page's script resumes from, and what she may do. The head is the conversation's
    as this request read it, before the messages: a page may get again a change it already
    shows, never miss one. `unread`: her marker and unread count, if the page has read them."""
    user: User = request.user  # type: ignore[assignment]
    head = conversation.last_seq
    visible = messages_policy.visible_in(user, conversation).select_related("author")
    before = request.GET.get("avant", "")
    older = None
    if thread is not None:
        root = thread if thread.parent_id is None else thread.parent
        shown = [root, *visible.filter(parent=root).order_by("seq")]
    else:
        roots = visible.filter(parent__isnull=True)
        if before.isdigit():
            roots = roots.filter(seq__lt=int(before))
        shown = list(roots.order_by("-seq")[: ROOTS_PER_PAGE + 1])
        if len(shown) > ROOTS_PER_PAGE:
            shown = shown[:ROOTS_PER_PAGE]
            older = shown[-1].seq
        shown.reverse()
    if unread is None or conversation.pk not in unread:
        unread = actions.unread_state(user, [conversation.pk])
    marker, unread_count = unread[conversation.pk]
    items = _display(states(shown), Cache(user))
    first_unread = next(
        (i["id"] for i in items if i["seq"] > marker and i["author"] != user.pk and not i["deleted"]), None
    )
    abilities = conversations.abilities(user, conversation)
    org = conversation.organisation
    thread_base = reverse("chat:thread", args=[org.slug, conversation.pk, 0])[:-2]
    labels = Labels()
    for item in items:
        item["li"] = message_html(item, user.pk, labels, thread_base, thread is not None)
    return {
        "conversation": conversation,
        "title": actions.title_of(conversation, user),
        "items": items,
        "thread": thread.parent or thread if thread is not None else None,
        "older": older,
        "head": head,
        "first_unread": first_unread,
        "conv_abilities": abilities,
        "form": MessageForm(initial={"parent": (thread.parent_id or thread.pk) if thread else None}),
        "attach": abilities["post"] and _attach_allowed(user, conversation),
        "reactions": REACTIONS,
        "socket": f"/ws/discussion/{conversation.pk}/",
        "post_url": reverse("chat:post", args=[org.slug, conversation.pk]),
        "read_url": reverse("chat:read", args=[org.slug, conversation.pk]),
        "thread_base": thread_base,
        "preview_url": reverse("chat:preview", args=[org.slug]),
        "unread": unread_count,
    }


def _sidebar_channels(user: User, space: Space) -> tuple[list[Conversation], dict[int, tuple[int, int]]]:
    """The space's channels she may see, and her marker and unread count in each."""
    channels = [c for c in actions.channels_of(space) if conversations.can(user, "view", c)]
    return channels, actions.unread_state(user, [c.pk for c in channels])


def _listed(
    channels: list[Conversation], unread: dict[int, tuple[int, int]]
) -> list[tuple[Conversation, int]]:
    """The sidebar's lines: each channel and its unread count."""
    return [(c, unread[c.pk][1]) for c in channels]


def _directs(user: User, org: Organisation) -> list[tuple[Conversation, str, int]]:
    found = list(
        conversations.visible_directs(user).filter(organisation=org).order_by("-last_message_at", "-pk")[:50]
    )
    counts = actions.unread_counts(user, [c.pk for c in found])
    return [(c, actions.direct_title(c, user), counts[c.pk]) for c in found]


# --- Channels of a space ------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    """The space's discussion opens on its default channel (made on first use)."""
    org, space = chat_space(request, org_slug, space_slug)
    channel = actions.ensure_default_channel(space)
    return redirect("chat:channel", org.slug, space.slug, channel.pk)


@login_required
def channel_new(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = chat_space(request, org_slug, space_slug)
    if not conversations.can_create_channel(request.user, space):
        raise PermissionDenied
    form = ChannelForm(posted(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                channel = actions.create_channel(
                    actor_from(request), space, form.cleaned_data["name"], form.cleaned_data["topic"]
                )
            except ChatError as error:
                form.add_error("name", error.message)
            else:
                messages.success(request, _("The channel “%(name)s” is open.") % {"name": channel.name})
                return redirect("chat:channel", org.slug, space.slug, channel.pk)
        status = 400
    return space_page(request, "chat/channel_new.html", org, space, TOOL, {"form": form}, status=status)


@login_required
@require_GET
def channel(request: HttpRequest, org_slug: str, space_slug: str, pk: int) -> HttpResponse:
    org, space = chat_space(request, org_slug, space_slug)
    # The channel is one of the sidebar's, which holds only those she may see.
    channels, unread = _sidebar_channels(request.user, space)  # type: ignore[arg-type]
    conversation = next((c for c in channels if c.pk == pk), None)
    if conversation is None:
        raise Http404
    context = conversation_context(request, conversation, unread=unread)
    context["channels"] = _listed(channels, unread)
    context["can_create"] = conversations.can_create_channel(request.user, space)
    return space_page(request, "chat/conversation.html", org, space, TOOL, context)


@login_required
@require_GET
def search(request: HttpRequest, org_slug: str, space_slug: str) -> HttpResponse:
    org, space = chat_space(request, org_slug, space_slug)
    form, results, status = _search(request, org, space)
    context = {"form": form, "results": results, "searched_space": space}
    return space_page(request, "chat/search.html", org, space, TOOL, context, status=status)


def _search(
    request: HttpRequest, org: Organisation, space: Space | None
) -> tuple[SearchForm, list[dict[str, Any]], int]:
    """Messages she may see that hold every word (stemmed, accents ignored, the last one as a
    prefix), newest first."""
    if "q" not in request.GET:
        return SearchForm(), [], 200
    form = SearchForm(request.GET)
    if not form.is_valid():
        return form, [], 400
    groups = fulltext.query_groups(form.cleaned_data["q"])
    if not groups:
        return form, [], 200
    found = messages_policy.visible(request.user).filter(
        conversation__organisation=org, deleted_at__isnull=True
    )
    if space is not None:
        found = found.filter(conversation__space=space)
    found = matching(found, groups).select_related("author", "conversation__space")
    results = []
    # Newest first by number: the planner can walk the key backwards for a common word (and stop
    # at the 50th) or start from the index for a rare one, where sorting all matches would not.
    for m in found.order_by("-pk")[:SEARCH_RESULTS]:
        text = markup.plain(m.body)
        results.append(
            {
                "message": m,
                "title": actions.title_of(m.conversation, request.user),  # type: ignore[arg-type]
                "url": (
                    reverse("chat:thread", args=[org.slug, m.conversation_id, m.pk])
                    if m.parent_id
                    else actions.conversation_url(m.conversation) + f"#m-{m.pk}"
                ),
                "excerpt": fulltext.highlight(text, groups) or _beginning(text),
            }
        )
    return form, results, 200


def _beginning(text: str) -> SafeString:
    """The start of a message whose match is not among its words as Python splits them (a
    letter SQLite folds and PostgreSQL does not, "ø"), escaped as `highlight`'s extract is."""
    return mark_safe(escape(text[:EXCERPT]) + (" …" if len(text) > EXCERPT else ""))  # noqa: S308


# --- Direct conversations -----------------------------------------------------------------------


def direct_choices(user: User, org: Organisation) -> QuerySet[User]:
    """Whom she may write to: the members of the organisation (not guests), and guests who
    share a space with her; a guest sees only the people of her spaces."""
    me = policies.membership(user, org)
    if me is None:
        return User.objects.none()
    active = OrgMembership.objects.filter(organisation=org, is_active=True, user__is_active=True)
    shared = Space.objects.filter(pk__in=readable_spaces(user).filter(organisation=org).values("pk"))
    in_my_spaces = User.objects.filter(
        Q(space_memberships__space__in=shared) | Q(parvis_groups__space_grants__space__in=shared)
    ).values("pk")
    if me.is_guest:
        people = User.objects.filter(pk__in=in_my_spaces)
    else:
        people = User.objects.filter(
            Q(pk__in=active.exclude(role=OrgMembership.Role.GUEST).values("user_id"))
            | Q(pk__in=active.filter(role=OrgMembership.Role.GUEST, user__in=in_my_spaces).values("user_id"))
        )
    return (
        people.filter(pk__in=active.values("user_id"))
        .exclude(pk=user.pk)
        .distinct()
        .order_by("full_name", "email")
    )


def people_matching(people: QuerySet[User], query: str, *, by_address: bool = True) -> QuerySet[User]:
    """The people whose name (or e-mail address) holds every word of one of the query's
    comma-separated parts (any case, anywhere in the name): "martin claire" finds
    Claire Martin, "claire, paul" both, to start a conversation of several. A guest searches
    names only: she has no directory, and matching addresses letter by letter would show them
    to her."""

    def holds(word: str) -> Q:
        by_name = Q(full_name__icontains=word)
        return by_name | Q(email__icontains=word) if by_address else by_name

    found = Q(pk__in=[])
    for part in query.split(",")[:8]:
        words = part.split()[:8]
        if not words:
            continue
        matches = Q()
        for word in words:
            matches &= holds(word)
        found |= matches
    return people.filter(found)


def _correspondents(user: User, org: Organisation, people: QuerySet[User]) -> QuerySet[User]:
    """Of the people she may write to, those she already has a private conversation with: what
    the picker offers before she searches, in one query whatever the size of the commune."""
    hers = conversations.visible_directs(user).filter(organisation=org)
    return people.filter(pk__in=Participant.objects.filter(conversation__in=hers).values("user_id"))


@login_required
@require_GET
def direct_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Her private conversations and a people picker that searches rather than lists: with a
    few thousand members a list of everyone cost half a second and grew with the commune. The
    picker offers her correspondents, or the first matches of a search (a GET form, then the
    POST form of `direct_new`, so it works without JavaScript)."""
    org = policies.get_organisation(request.user, org_slug)
    choices = direct_choices(request.user, org)  # type: ignore[arg-type]
    search = PersonSearchForm(request.GET if "personne" in request.GET else None)
    searched = search.is_bound and search.is_valid()
    if searched:
        me = policies.membership(request.user, org)
        offered = people_matching(
            choices, search.cleaned_data["personne"], by_address=me is not None and not me.is_guest
        )
    else:
        offered = _correspondents(request.user, org, choices)  # type: ignore[arg-type]
    found = list(offered[: PEOPLE_SHOWN + 1])
    context = {
        "directs": _directs(request.user, org),  # type: ignore[arg-type]
        "person_form": search,
        "searched": searched,
        "found": found[:PEOPLE_SHOWN],
        "more": len(found) > PEOPLE_SHOWN,
        "form": DirectForm(choices, shown=found[:PEOPLE_SHOWN]),
        "search_form": SearchForm(),
    }
    status = 400 if search.is_bound and not searched else 200
    return page(request, "chat/direct_list.html", context, status=status, organisation=org)


@login_required
@require_POST
def direct_new(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    form = DirectForm(direct_choices(request.user, org), request.POST)  # type: ignore[arg-type]
    back = reverse("chat:direct_list", args=[org.slug])
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return refuse(request, org, message, back, _("Back to private messages"))
    try:
        conversation = actions.start_direct(actor_from(request), org, form.cleaned_data["people"])
    except ChatError as error:
        return refuse(request, org, error.message, back, _("Back to private messages"))
    return redirect("chat:direct", org.slug, conversation.pk)


@login_required
@require_GET
def direct(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    conversation = policies.get_or_404(
        conversations,
        request.user,
        Conversation.objects.select_related("organisation"),
        organisation=org,
        kind=Conversation.Kind.DIRECT,
        pk=pk,
    )
    context = conversation_context(request, conversation)
    context["directs"] = _directs(request.user, org)  # type: ignore[arg-type]
    return page(request, "chat/direct.html", context, organisation=org)


@login_required
@require_GET
def org_search(request: HttpRequest, org_slug: str) -> HttpResponse:
    org = policies.get_organisation(request.user, org_slug)
    form, results, status = _search(request, org, None)
    return page(
        request, "chat/search.html", {"form": form, "results": results}, status=status, organisation=org
    )


# --- One conversation: threads and the forms ----------------------------------------------------


def _render_conversation_page(
    request: HttpRequest,
    org: Organisation,
    conversation: Conversation,
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    if conversation.space is not None:
        context["layout"] = "spaces/_space_layout.html"
        context["channels"] = _listed(*_sidebar_channels(request.user, conversation.space))  # type: ignore[arg-type]
        return space_page(request, template, org, conversation.space, TOOL, context)
    context["layout"] = "chat/_direct_layout.html"
    context["directs"] = _directs(request.user, org)  # type: ignore[arg-type]
    return page(request, template, context, organisation=org)


@login_required
@require_GET
def thread(request: HttpRequest, org_slug: str, pk: int, mid: int) -> HttpResponse:
    """A message and its answers, with the forms to answer, edit, delete and react."""
    org, conversation = conversation_or_404(request, org_slug, pk)
    message = message_or_404(request, conversation, mid)
    context = conversation_context(request, conversation, thread=message)
    root = context["thread"]
    context["root_abilities"] = messages_policy.abilities(request.user, root)
    context["edit_form"] = EditForm(initial={"body": root.body})
    return _render_conversation_page(request, org, conversation, "chat/thread.html", context)


@login_required
@require_POST
def post(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    org, conversation = conversation_or_404(request, org_slug, pk)
    if not conversations.can(request.user, "post", conversation):
        raise PermissionDenied
    form = MessageForm(request.POST)
    files = request.FILES.getlist("files")
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return refused(request, org, conversation, ChatError(message))
    parent = None
    if form.cleaned_data.get("parent"):
        parent = Message.objects.filter(conversation=conversation, pk=form.cleaned_data["parent"]).first()
        if parent is None:
            return refused(
                request, org, conversation, ChatError(_("This message can no longer be answered."))
            )
    try:
        posted_message = actions.post_with_files(
            actor_from(request),
            conversation,
            form.cleaned_data["body"],
            [(f.name, f.chunks()) for f in files],
            client_id=form.cleaned_data.get("client_id"),
            parent=parent,
        )
    except ChatError as error:
        return refused(request, org, conversation, error)
    message = posted_message.message
    if wants_json(request):
        return JsonResponse({"id": message.pk, "seq": message.seq, "created": posted_message.created})
    if message.parent_id:
        return redirect(
            reverse("chat:thread", args=[org.slug, conversation.pk, message.parent_id]) + f"#m-{message.pk}"
        )
    return redirect(actions.conversation_url(conversation) + f"#m-{message.pk}")


@login_required
@require_POST
def read(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """Marquer comme lu: everything up to now, or up to the number the page sends."""
    _org, conversation = conversation_or_404(request, org_slug, pk)
    seq = request.POST.get("seq", "")
    done = actions.mark_read(request.user, conversation, int(seq) if seq.isdigit() else None)  # type: ignore[arg-type]
    if wants_json(request):
        return JsonResponse({"seq": done})
    messages.success(request, _("Marked as read."))
    return redirect(actions.conversation_url(conversation))


@login_required
@require_POST
def edit(request: HttpRequest, org_slug: str, pk: int, mid: int) -> HttpResponse:
    org, conversation = conversation_or_404(request, org_slug, pk)
    message = message_or_404(request, conversation, mid)
    policies.require(messages_policy, request.user, "change", message)
    form = EditForm(request.POST)
    if not form.is_valid():
        return refused(request, org, conversation, ChatError(_("Write a message first.")))
    try:
        actions.edit_message(actor_from(request), message, form.cleaned_data["body"])
    except ChatError as error:
        return refused(request, org, conversation, error)
    return redirect(reverse("chat:thread", args=[org.slug, conversation.pk, message.pk]) + f"#m-{message.pk}")


@login_required
@require_POST
def delete(request: HttpRequest, org_slug: str, pk: int, mid: int) -> HttpResponse:
    _org, conversation = conversation_or_404(request, org_slug, pk)
    message = message_or_404(request, conversation, mid)
    policies.require(messages_policy, request.user, "delete", message)
    actions.delete_message(actor_from(request), message)
    messages.success(request, _("The message was deleted."))
    return redirect(actions.conversation_url(conversation))


@login_required
@require_POST
def react(request: HttpRequest, org_slug: str, pk: int, mid: int) -> HttpResponse:
    org, conversation = conversation_or_404(request, org_slug, pk)
    message = message_or_404(request, conversation, mid)
    policies.require(messages_policy, request.user, "react", message)
    form = ReactionForm(request.POST)
    if not form.is_valid():
        return refused(request, org, conversation, ChatError(_("This reaction is not available.")))
    try:
        actions.toggle_reaction(actor_from(request), message, form.cleaned_data["emoji"])
    except ChatError as error:
        return refused(request, org, conversation, error)
    return redirect(reverse("chat:thread", args=[org.slug, conversation.pk, message.pk]) + f"#m-{message.pk}")


@login_required
@require_GET
def export(request: HttpRequest, org_slug: str, pk: int) -> HttpResponse:
    """The whole history of a channel, as a web page to keep or as plain text (facilitators)."""
    org, conversation = conversation_or_404(request, org_slug, pk)
    policies.require(conversations, request.user, "export", conversation)
    kind = request.GET.get("format", "html")
    if kind not in ("html", "txt"):
        return refuse(
            request,
            org,
            _("Choose an export as a web page or as text."),
            actions.conversation_url(conversation),
            _("Back to the conversation"),
        )
    entries = actions.history(conversation)
    actions.record_export(actor_from(request), conversation, kind, len(entries))
    context = {"conversation": conversation, "entries": entries, "org": org, "now": timezone.now()}
    name = f"discussion-{conversation.space.slug if conversation.space else 'prive'}-{conversation.pk}"
    if kind == "txt":
        for entry in entries:
            entry["text"] = markup.plain(entry["m"].body)
        body = render_to_string("chat/export.txt", context)
        response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(
            render_to_string("chat/export.html", context), content_type="text/html; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


@login_required
@require_GET
def link_preview(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The preview of a link to a Parvis page, as she may see it (an empty answer otherwise)."""
    policies.get_organisation(request.user, org_slug)
    found = preview(request.user, request.GET.get("lien", "")[:2000])
    if found is None:
        return HttpResponse(status=204)
    return HttpResponse(preview_html(found))
