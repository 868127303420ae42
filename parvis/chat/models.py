"""Discussion: conversations (the channels of a space, and direct messages), their messages,
reactions, and where each person stopped reading.

Every change to a conversation (a new message, an edit, a deletion, a reaction) takes the next
number of the conversation's sequence (`Conversation.last_seq`, incremented under a row lock),
and the message it touched records it in `updated_seq`. A client that saw everything up to N asks
for the messages whose `updated_seq` is above N: it gets each changed message once, in its
latest state, and no change can be skipped, because numbers are given and committed in order.
The database is the log; the channel layer only carries the news (it may forget).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL
BODY_MAX = 10_000
DIRECT_MAX = 8  # people in a direct conversation, the author included
REACTIONS = ("👍", "❤️", "😄", "🎉", "😮", "👀", "✅")


class Conversation(models.Model):
    class Kind(models.TextChoices):
        CHANNEL = "channel", _("channel")
        DIRECT = "direct", _("direct message")

    organisation = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    space = models.ForeignKey(
        "spaces.Space",
        verbose_name=_("space"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversations",
        help_text=_("The space of a channel; empty for direct messages."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CHANNEL)
    name = models.CharField(_("name"), max_length=80, blank=True)
    topic = models.CharField(_("topic"), max_length=250, blank=True)
    is_default = models.BooleanField(
        _("default channel"), default=False, help_text=_("The channel a space opens on.")
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_seq = models.PositiveBigIntegerField(
        _("last sequence number"), default=0, help_text=_("The number of the last change.")
    )
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["space", "name"], condition=Q(kind="channel"), name="chat_unique_channel_name"
            ),
            models.UniqueConstraint(
                fields=["space"], condition=Q(is_default=True), name="chat_one_default_channel"
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"

    @property
    def is_channel(self) -> bool:
        return self.kind == self.Kind.CHANNEL


class Participant(models.Model):
    """A person in a direct conversation (channels take their people from the space)."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="chat_unique_participant")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class ReadMarker(models.Model):
    """Where a person stopped reading a conversation: the sequence number of the last message
    she has seen. Messages after it are unread."""

    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="read_markers"
    )
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    last_read_seq = models.PositiveBigIntegerField(_("last message read"), default=0)

    class Meta:
        verbose_name = _("read marker")
        verbose_name_plural = _("read markers")
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="chat_unique_marker")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} up to {self.last_read_seq}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveBigIntegerField(_("sequence number"), help_text=_("Its place in the conversation."))
    updated_seq = models.PositiveBigIntegerField(
        _("last change"), help_text=_("The sequence number of its last change.")
    )
    author = models.ForeignKey(
        USER, verbose_name=_("author"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_id = models.UUIDField(
        _("client message id"),
        default=uuid.uuid4,
        help_text=_("Chosen by the sender's page, so that a message sent twice is stored once."),
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("thread"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
        help_text=_("The message this one answers, in a thread."),
    )
    body = models.TextField(_("text"), max_length=BODY_MAX, blank=True)
    html = models.TextField(_("text as shown"), blank=True)
    mentioned = models.JSONField(_("people mentioned"), default=list, blank=True)
    mentions_all = models.BooleanField(_("whole channel mentioned"), default=False)
    links = models.JSONField(_("links to Parvis pages"), default=list, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    reply_count = models.PositiveIntegerField(_("replies"), default=0)
    search_terms = models.TextField(
        _("search terms"),
        blank=True,
        editable=False,
        help_text=_("The words of its text, as search finds them."),
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    edited_at = models.DateTimeField(_("edited at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "author", "client_id"], name="chat_unique_client_id"
            ),
        ]
        indexes = [models.Index(fields=["conversation", "updated_seq"], name="chat_msg_changes")]

    def __str__(self) -> str:
        return f"{self.conversation_id}/{self.seq}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(models.Model):
    message = models.ForeignKey(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="reactions"
    )
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(_("emoji"), max_length=8)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("reaction")
        verbose_name_plural = _("reactions")
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="chat_unique_reaction")
        ]

    def __str__(self) -> str:
        return self.emoji
