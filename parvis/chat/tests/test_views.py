"""The discussion's pages with personas: what they show, the forms that work without
JavaScript, French refusals that change nothing, search and previews through the rights."""

import uuid
from urllib.parse import urlencode

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import french
from parvis.chat import actions
from parvis.chat.models import Conversation, Message
from parvis.core.audit import Actor
from parvis.core.models import AuditEvent
from parvis.core.tests.factories import make_user, member


def channel_url(w, channel):  # type: ignore[no-untyped-def]
    return reverse("chat:channel", args=[w.org.slug, channel.space.slug, channel.pk])


def test_the_discussion_opens_on_the_default_channel_with_its_messages(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    message = actions.post_message(Actor(chat_world.maire), channel, "Séance **jeudi**").message
    actions.edit_message(Actor(chat_world.maire), message, "Séance **vendredi**")
    elu = client_for("elu")
    home = elu.get(reverse("chat:home", args=[chat_world.org.slug, chat_world.commission.slug]))
    assert home.status_code == 302
    assert home["Location"] == channel_url(chat_world, channel)
    page = elu.get(home["Location"]).content.decode()
    assert "Séance <strong>vendredi</strong>" in page
    assert french("(edited)") in page
    assert french("New messages") in page  # the unread divider, before the maire's message
    assert f'data-socket="/ws/discussion/{channel.pk}/"' in page
    assert french("Mark as read") in page


def test_a_space_with_the_discussion_off_has_no_discussion(chat_world, client_for):
    chat_world.commission.tools = ["documents"]
    chat_world.commission.save()
    url = reverse("chat:home", args=[chat_world.org.slug, chat_world.commission.slug])
    assert client_for("maire").get(url).status_code == 404


def test_a_message_posted_by_the_form_without_javascript_is_stored_once(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    elu = client_for("elu")
    url = reverse("chat:post", args=[chat_world.org.slug, channel.pk])
    data = {"body": "Depuis le formulaire", "client_id": str(uuid.uuid4())}
    first = elu.post(url, data)
    again = elu.post(url, data)  # the same form sent twice (a double click, a reload)
    assert first.status_code == again.status_code == 302
    assert Message.objects.filter(conversation=channel).count() == 1


def test_an_empty_message_gets_a_french_error_and_changes_nothing(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    response = client_for("elu").post(
        reverse("chat:post", args=[chat_world.org.slug, channel.pk]), {"body": " "}
    )
    assert response.status_code == 400
    assert french("Write a message first.") in response.content.decode()
    assert not Message.objects.exists()


def test_a_file_attached_from_the_form_lands_in_the_spaces_documents(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    response = client_for("elu").post(
        reverse("chat:post", args=[chat_world.org.slug, channel.pk]),
        {"body": "Le plan", "files": SimpleUploadedFile("plan.txt", b"Plan du bourg")},
    )
    assert response.status_code == 302
    [file] = Message.objects.get().attachments
    assert file["name"] == "plan.txt"
    page = client_for("maire").get(channel_url(chat_world, channel)).content.decode()
    assert f'href="{file["url"]}"' in page


def test_search_finds_only_messages_the_searcher_may_see(chat_world, client_for):
    commission = actions.ensure_default_channel(chat_world.commission)
    council = actions.ensure_default_channel(chat_world.council)
    actions.post_message(Actor(chat_world.maire), commission, "Subvention du gymnase")
    actions.post_message(Actor(chat_world.maire), council, "Subvention des associations")
    direct = actions.start_direct(Actor(chat_world.maire), chat_world.org, [chat_world.elu])
    actions.post_message(Actor(chat_world.maire), direct, "Subvention en privé")
    url = reverse("chat:org_search", args=[chat_world.org.slug]) + "?q=subvention"
    elu = client_for("elu").get(url).content.decode()
    agent = client_for("agent_rh").get(url).content.decode()
    assert "<mark>Subvention</mark> du gymnase" in elu
    assert "en privé" in elu
    assert "associations" in agent
    assert "gymnase" not in agent
    assert "en privé" not in agent


def test_a_search_of_one_letter_is_refused_in_french(chat_world, client_for):
    url = reverse("chat:search", args=[chat_world.org.slug, chat_world.commission.slug]) + "?q=a"
    response = client_for("elu").get(url)
    assert response.status_code == 400


def test_a_facilitator_exports_the_history_as_text_and_the_export_is_in_the_journal(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    root = actions.post_message(Actor(chat_world.elu), channel, "Premier **point**").message
    actions.post_message(Actor(chat_world.maire), channel, "Réponse", parent=root)
    url = reverse("chat:export", args=[chat_world.org.slug, channel.pk])
    text = client_for("maire").get(url + "?format=txt")
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    body = text.content.decode()
    assert "Paul Durand :\nPremier point" in body
    assert "    ↳ " in body
    assert AuditEvent.objects.get(action="chat.export").data == {"format": "txt", "messages": 2}
    page = client_for("secretaire").get(url + "?format=html").content.decode()
    assert "Premier <strong>point</strong>" in page
    assert client_for("elu").get(url).status_code == 403
    assert client_for("maire").get(url + "?format=pdf").status_code == 400


def test_a_link_preview_shows_only_what_the_reader_may_see(chat_world, client_for):
    from parvis.documents import actions as documents
    from parvis.documents.models import Level

    root = documents.root_folder(chat_world.commission)
    secret = documents.create_folder(Actor(chat_world.maire), root, "Notes du maire")
    documents.set_restriction(
        Actor(chat_world.maire), secret, True, [documents.Grant(chat_world.maire, None, Level.WRITE)]
    )
    channel = actions.ensure_default_channel(chat_world.commission)
    link = reverse("documents:folder", args=[chat_world.org.slug, chat_world.commission.slug, secret.pk])
    actions.post_message(Actor(chat_world.maire), channel, f"Voir {link}")
    assert (
        "Notes du maire</strong>"
        in client_for("maire").get(channel_url(chat_world, channel)).content.decode()
    )
    elu_page = client_for("elu").get(channel_url(chat_world, channel)).content.decode()
    assert f'href="{link}"' in elu_page  # the link itself, as written
    assert "Notes du maire</strong>" not in elu_page
    preview = reverse("chat:preview", args=[chat_world.org.slug])
    assert client_for("elu").get(preview, {"lien": link}).status_code == 204
    assert client_for("maire").get(preview, {"lien": link}).status_code == 200
    assert client_for("maire").get(preview, {"lien": "https://ailleurs.example/"}).status_code == 204


def test_a_thread_page_answers_edits_and_reacts_without_javascript(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.commission)
    root = actions.post_message(Actor(chat_world.elu), channel, "Qui vient ?").message
    elu = client_for("elu")
    org = chat_world.org.slug
    page = elu.get(reverse("chat:thread", args=[org, channel.pk, root.pk])).content.decode()
    assert french("Save the new text") in page
    assert (
        elu.post(reverse("chat:post", args=[org, channel.pk]), {"body": "Moi", "parent": root.pk}).status_code
        == 302
    )
    assert (
        elu.post(
            reverse("chat:edit", args=[org, channel.pk, root.pk]), {"body": "Qui vient jeudi ?"}
        ).status_code
        == 302
    )
    assert (
        elu.post(reverse("chat:react", args=[org, channel.pk, root.pk]), {"emoji": "🎉"}).status_code == 302
    )
    root.refresh_from_db()
    assert root.reply_count == 1
    assert root.edited_at is not None
    assert root.reactions.get().emoji == "🎉"
    bad = elu.post(reverse("chat:react", args=[org, channel.pk, root.pk]), {"emoji": "💣"})
    assert bad.status_code == 400
    assert french("This reaction is not available.") in bad.content.decode()


def direct_list(w, **search):  # type: ignore[no-untyped-def]
    url = reverse("chat:direct_list", args=[w.org.slug])
    return url + ("?" + urlencode(search) if search else "")


def test_starting_a_private_conversation_from_the_list(chat_world, client_for):
    maire = client_for("maire")
    listing = maire.get(direct_list(chat_world)).content.decode()
    assert french("Find a person") in listing
    assert "Paul Durand" not in listing  # nobody is listed before she searches
    found = maire.get(direct_list(chat_world, personne="durand")).content.decode()
    assert f'value="{chat_world.elu.pk}"' in found
    assert "Paul Durand" in found
    assert "1 personne trouvée." in found
    assert (
        maire.get(direct_list(chat_world, personne="girard")).content.decode().count('type="checkbox"') == 0
    )
    response = maire.post(
        reverse("chat:direct_new", args=[chat_world.org.slug]), {"people": [chat_world.elu.pk]}
    )
    assert response.status_code == 302
    assert client_for("elu").get(response["Location"]).status_code == 200
    assert client_for("agent_rh").get(response["Location"]).status_code == 404
    again = maire.get(direct_list(chat_world)).content.decode()
    assert f'value="{chat_world.elu.pk}"' in again  # her correspondents are offered without a search


def test_the_people_search_finds_names_and_addresses_among_whom_she_may_write_to(chat_world, client_for):
    maire = client_for("maire")

    def offered(query: str) -> str:
        page = maire.get(direct_list(chat_world, personne=query))
        assert page.status_code == 200
        return page.content.decode()

    assert "Sophie Bernard" in offered("BERNARD")
    assert "Sophie Bernard" in offered("secretaire@saint")
    assert "Sophie Bernard" in offered("bernard sophie")
    assert "Claire Martin" not in offered("martin")  # not herself
    nobody = offered("Luc Girard")  # another commune
    assert "Luc Girard</label>" not in nobody
    assert french("Nobody you may write to matches “%(query)s”.", query="Luc Girard") in nobody
    assert 'name="people"' not in nobody


def test_a_guest_is_offered_only_the_people_of_her_spaces(chat_world, client_for):
    externe = client_for("externe")
    assert "Claire Martin" in externe.get(direct_list(chat_world, personne="claire")).content.decode()
    assert "Paul Durand" not in externe.get(direct_list(chat_world, personne="paul")).content.decode()
    refused = externe.post(
        reverse("chat:direct_new", args=[chat_world.org.slug]), {"people": [chat_world.elu.pk]}
    )
    assert refused.status_code == 400
    assert french("Choose people from the list.") in refused.content.decode()


def test_a_guest_finds_people_by_name_but_not_by_address(chat_world, client_for):
    """She has no directory: an address typed letter by letter must not tell her whose it is."""
    externe = client_for("externe")
    by_name = externe.get(direct_list(chat_world, personne="claire")).content.decode()
    by_address = externe.get(direct_list(chat_world, personne=chat_world.maire.email[:5])).content.decode()
    assert "Claire Martin</label>" in by_name
    assert "Claire Martin</label>" not in by_address


def test_a_search_with_commas_offers_several_people_for_one_conversation(chat_world, client_for):
    page = client_for("maire").get(direct_list(chat_world, personne="bernard, durand")).content.decode()
    assert "Sophie Bernard</label>" in page
    assert "Paul Durand</label>" in page


def test_a_search_of_more_than_twenty_people_asks_to_refine_it(chat_world, client_for):
    for n in range(25):
        member(chat_world.org, make_user(full_name=f"Agnès Habitant {n:02}"))
    page = client_for("maire").get(direct_list(chat_world, personne="habitant")).content.decode()
    assert page.count('name="people"') == 20
    assert french("Only the first %(n)s people found are shown: refine your search.", n=20) in page
    assert "Agnès Habitant 19" in page
    assert "Agnès Habitant 20" not in page


def test_the_private_messages_page_costs_the_same_queries_whatever_the_size_of_the_commune(
    chat_world, client_for
):
    """Before she searches, the picker offers her correspondents, never the whole commune: 5
    or 60 more members cost the same queries, and none of them is on the page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = chat_world
    actions.start_direct(Actor(w.maire), w.org, [w.elu])
    maire = client_for("maire")
    maire.get(direct_list(w))  # the first visit remembers the commune
    added = 0

    def more_members(count: int) -> None:
        nonlocal added
        for _ in range(count):
            added += 1
            member(w.org, make_user(full_name=f"Agnès Habitant {added}"))

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = maire.get(direct_list(w))
        assert response.status_code == 200
        return len(captured), response.content.decode()

    more_members(5)
    few, _ = queries()
    more_members(55)
    many, page = queries()
    assert many == few
    assert many <= 14  # 11 when written
    assert "Habitant" not in page
    assert "Paul Durand" in page  # her correspondent


def test_a_bad_people_search_gets_a_french_error_and_shows_no_one_new(chat_world, client_for):
    maire = client_for("maire")
    for query, error in [
        ("d", "Type at least 2 letters of a name or an e-mail address."),
        ("   ", "Type at least 2 letters of a name or an e-mail address."),
        ("x" * 10_000, None),
        ("a\x00b", None),
    ]:
        response = maire.get(direct_list(chat_world, personne=query))
        assert response.status_code == 400, query[:10]
        body = response.content.decode()
        assert 'class="errorlist' in body
        if error:
            assert french(error) in body
        assert "Paul Durand" not in body
    for odd in ["%FF%FE", "personne=%00", "personne=%25%25&personne=_", "personne[]=du"]:
        assert maire.get(direct_list(chat_world) + "?" + odd).status_code in (200, 400)
    assert maire.get(direct_list(chat_world, personne="%_")).status_code == 200


def test_only_people_she_may_write_to_are_accepted_whatever_is_posted(chat_world, client_for):
    maire = client_for("maire")
    url = reverse("chat:direct_new", args=[chat_world.org.slug])
    for people in [[], [chat_world.inconnu.pk], ["x" * 10_000], ["99999999999999999999999"], ["-1"], [" "]]:
        response = maire.post(url, {"people": people})
        assert response.status_code == 400, people
        body = response.content.decode()
        assert (
            french("Choose people from the list.") in body
            or french("Choose at least one person to write to.") in body
        )
    assert not Conversation.objects.filter(kind=Conversation.Kind.DIRECT).exists()


def test_a_space_that_requires_a_second_factor_refuses_a_session_without_one(chat_world, client_for):
    channel = actions.ensure_default_channel(chat_world.rh)
    response = client_for("agent_rh").get(channel_url(chat_world, channel))
    assert response.status_code == 403


def test_a_channel_page_costs_the_same_queries_for_five_messages_as_for_fifty(chat_world, client_for):
    """Rights are read once per page (core.policies.remembered), not once per message, link
    or channel of the sidebar."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = chat_world
    channel = actions.ensure_default_channel(w.commission)
    people = [w.maire, w.elu, w.secretaire]
    link = f"/o/saint-aubin/e/{w.commission.slug}/"
    client = client_for("elu")
    url = f"/o/saint-aubin/e/{w.commission.slug}/discussion/{channel.pk}/"

    def post(count: int) -> None:
        root = None
        for n in range(count):
            message = actions.post_message(
                Actor(people[n % 3]), channel, f"Point **{n}** {link} @Paul Durand", parent=root
            ).message
            actions.toggle_reaction(Actor(w.elu), message, "👍")
            root = message if n % 4 == 0 else None

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    client.get(url)  # the first visit makes the space's top folder and remembers the commune
    post(5)
    few = queries()
    post(45)
    many = queries()
    assert many == few
    # The channel is the sidebar's, the markers come with the unread counts and a role is one
    # query: 14 on PostgreSQL and SQLite (31 before, 122 at first).
    assert many <= 15
