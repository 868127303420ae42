"""The GED: folders with rights, documents, versions, content-addressed blobs, trash, uploads
in progress, favourites, subscriptions, share links, and what WebDAV clients store (locks and
dead properties).

Folders carry a materialized path ("/12/45/78/": the ids from the root of the space down to the
folder), so a subtree or an ancestor chain is one indexed query on SQLite and PostgreSQL alike.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parvis.core.models import Group

USER = settings.AUTH_USER_MODEL


class Level(models.TextChoices):
    """Rights on a folder, weakest first."""

    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


LEVEL_RANK = {None: 0, Level.READ: 1, Level.WRITE: 2}


def weakest(*levels: str | None) -> str | None:
    return min(levels, key=lambda level: LEVEL_RANK[level]) if levels else None


def strongest_level(*levels: str | None) -> str | None:
    present = [level for level in levels if level]
    return max(present, key=lambda level: LEVEL_RANK[level]) if present else None


class Blob(models.Model):
    """The bytes of a file, named by their SHA-256. Written and fsynced before any row that
    points to them commits; shared by every version with the same content."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), default=timezone.now)

    class Meta:
        verbose_name = _("file content")
        verbose_name_plural = _("file contents")

    def __str__(self) -> str:
        return self.sha256


class Trashable(models.Model):
    """Deleted items stay, marked, until the trash is purged. Everything deleted together
    (a folder and what it held) shares one `deletion` id, so it is restored together."""

    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, db_index=True)
    deleted_by = models.ForeignKey(
        USER, verbose_name=_("deleted by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deletion = models.UUIDField(_("deletion"), null=True, blank=True, db_index=True)
    trash_root = models.BooleanField(
        _("deleted by itself"),
        default=False,
        help_text=_("This item was deleted itself, not with the folder that held it."),
    )

    class Meta:
        abstract = True

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None


class Folder(Trashable):
    space = models.ForeignKey(
        "spaces.Space", verbose_name=_("space"), on_delete=models.CASCADE, related_name="folders"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent folder"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    name = models.CharField(_("name"), max_length=255)
    path = models.CharField(_("path"), max_length=2000, db_index=True, default="")
    restricted = models.BooleanField(
        _("restricted"),
        default=False,
        help_text=_("Only the people and groups listed have access; otherwise it follows its parent."),
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified at"), default=timezone.now)

    class Meta:
        verbose_name = _("folder")
        verbose_name_plural = _("folders")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=Q(deleted_at__isnull=True),
                name="unique_live_folder_name",
            ),
            models.UniqueConstraint(
                fields=["space"], condition=Q(parent__isnull=True), name="one_root_folder_per_space"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    def ancestor_ids(self) -> list[int]:
        """Ids from the root of the space down to this folder, itself included."""
        return [int(part) for part in self.path.strip("/").split("/") if part]


class FolderAccess(models.Model):
    """One line of a restricted folder's list: a person or a group, and a level."""

    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), on_delete=models.CASCADE, related_name="accesses"
    )
    user = models.ForeignKey(
        USER, verbose_name=_("person"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("level"), max_length=5, choices=Level.choices, default=Level.READ)

    class Meta:
        verbose_name = _("folder access")
        verbose_name_plural = _("folder accesses")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="folder_access_person_or_group",
            ),
            models.UniqueConstraint(fields=["folder", "user"], name="one_access_per_person"),
            models.UniqueConstraint(fields=["folder", "group"], name="one_access_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.group}: {self.level}"


class Document(Trashable):
    space = models.ForeignKey(
        "spaces.Space", verbose_name=_("space"), on_delete=models.CASCADE, related_name="documents"
    )
    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), on_delete=models.CASCADE, related_name="documents"
    )
    name = models.CharField(_("name"), max_length=255)
    current = models.ForeignKey(
        "Version",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    modified_at = models.DateTimeField(_("modified at"), default=timezone.now)
    locked_by = models.ForeignKey(
        USER, verbose_name=_("locked by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["folder", "name"],
                condition=Q(deleted_at__isnull=True),
                name="unique_live_document_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""


class Version(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Being checked by the antivirus")
        CLEAN = "clean", _("Available")
        INFECTED = "infected", _("Refused: a virus was found")

    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("number"))
    blob = models.ForeignKey(
        Blob, verbose_name=_("content"), on_delete=models.PROTECT, related_name="versions"
    )
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    mime_type = models.CharField(_("type"), max_length=120, default="application/octet-stream")
    file_modified_at = models.DateTimeField(
        _("file modified at"), default=timezone.now, help_text=_("As the uploader's computer knew it.")
    )
    uploaded_by = models.ForeignKey(
        USER,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(_("extracted text"), blank=True, default="")
    extracted = models.BooleanField(_("text extracted"), default=False)

    class Meta:
        verbose_name = _("version")
        verbose_name_plural = _("versions")
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"

    @property
    def sha256(self) -> str:
        return self.blob_id  # type: ignore[return-value]

    @property
    def is_clean(self) -> bool:
        return self.status == self.Status.CLEAN


class SearchEntry(models.Model):
    """What the full-text index holds for a document: its name and text, accent-folded and
    stemmed in Python, so that SQLite (FTS5) and PostgreSQL (tsvector) index the same terms."""

    document = models.OneToOneField(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="search_entry"
    )
    name_terms = models.TextField(_("name terms"), blank=True, default="")
    body_terms = models.TextField(_("text terms"), blank=True, default="")

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")

    def __str__(self) -> str:
        return str(self.document_id)


class Upload(models.Model):
    """A large file arriving in chunks: resumable after a network cut or a server restart. The
    bytes go to one temporary file, appended in order, renamed into the store at the end."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    folder = models.ForeignKey(Folder, verbose_name=_("folder"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=255)
    relative_path = models.CharField(_("path inside the folder"), max_length=2000, blank=True, default="")
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    received = models.PositiveBigIntegerField(_("received (bytes)"), default=0)
    file_modified_at = models.DateTimeField(_("file modified at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("upload in progress")
        verbose_name_plural = _("uploads in progress")

    def __str__(self) -> str:
        return self.name


class Favourite(models.Model):
    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(
        Document,
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="one_favourite_per_document"),
            models.UniqueConstraint(fields=["user", "folder"], name="one_favourite_per_folder"),
            models.CheckConstraint(
                condition=Q(document__isnull=False, folder__isnull=True)
                | Q(document__isnull=True, folder__isnull=False),
                name="favourite_document_or_folder",
            ),
        ]

    def __str__(self) -> str:
        return str(self.document or self.folder)


class Visit(models.Model):
    """When a person last opened or changed a document: "Mes fichiers récents"."""

    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(
        Document, verbose_name=_("document"), on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("recent document")
        verbose_name_plural = _("recent documents")
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="one_visit_per_document")]

    def __str__(self) -> str:
        return str(self.document_id)


class Subscription(models.Model):
    """ "Me prévenir": tell me when something arrives in this folder (or below it)."""

    user = models.ForeignKey(USER, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), on_delete=models.CASCADE, related_name="subscriptions"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("folder subscription")
        verbose_name_plural = _("folder subscriptions")
        constraints = [models.UniqueConstraint(fields=["user", "folder"], name="one_subscription_per_folder")]

    def __str__(self) -> str:
        return str(self.folder_id)


class ShareLink(models.Model):
    """A link to a file or a folder for someone without an account. Only a digest of its token
    is kept; the link itself is shown once, to the person who made it."""

    token_digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("end of the link"), max_length=8)
    space = models.ForeignKey(
        "spaces.Space", verbose_name=_("space"), on_delete=models.CASCADE, related_name="share_links"
    )
    document = models.ForeignKey(
        Document,
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    folder = models.ForeignKey(
        Folder, verbose_name=_("folder"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    password_hash = models.CharField(_("password"), max_length=200, blank=True, default="")
    max_downloads = models.PositiveIntegerField(_("downloads allowed"), null=True, blank=True)
    downloads = models.PositiveIntegerField(_("downloads"), default=0)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(document__isnull=False, folder__isnull=True)
                | Q(document__isnull=True, folder__isnull=False),
                name="share_link_document_or_folder",
            ),
        ]

    def __str__(self) -> str:
        return str(self.document or self.folder)

    @property
    def target(self) -> Document | Folder:
        return self.document or self.folder  # type: ignore[return-value]

    def is_usable(self) -> bool:
        if self.revoked_at is not None or self.expires_at <= timezone.now():
            return False
        return self.max_downloads is None or self.downloads < self.max_downloads


class DavLock(models.Model):
    """A WebDAV lock, kept in the database so that every web process sees it and it survives
    a restart."""

    token = models.CharField(max_length=100, primary_key=True)
    root = models.CharField(max_length=2000, db_index=True)
    owner = models.TextField(blank=True, default="")
    principal = models.CharField(max_length=200, blank=True, default="")
    scope = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, default="write")
    depth = models.CharField(max_length=10)
    timeout = models.FloatField()
    expires_at = models.FloatField(db_index=True)

    class Meta:
        verbose_name = _("WebDAV lock")
        verbose_name_plural = _("WebDAV locks")

    def __str__(self) -> str:
        return self.root


class DavProperty(models.Model):
    """A property a WebDAV client set on a resource (PROPPATCH), keyed by the object
    ("document:12", "folder:7") so it survives renames and moves made on the web."""

    path = models.CharField(max_length=2000, db_index=True)
    name = models.CharField(max_length=500)
    value = models.TextField()

    class Meta:
        verbose_name = _("WebDAV property")
        verbose_name_plural = _("WebDAV properties")
        constraints = [models.UniqueConstraint(fields=["path", "name"], name="one_dav_property_value")]

    def __str__(self) -> str:
        return f"{self.path} {self.name}"


class StorageUse(models.Model):
    """Bytes an organisation stores (every version, trash included), kept up to date as versions
    come and go (see `usage.py`), so that checking the quota before an upload costs one read
    however full the organisation is."""

    organisation = models.OneToOneField(
        "core.Organisation",
        verbose_name=_("organisation"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="storage_use",
    )
    # Signed: a count that drifted (a crash between two statements is not possible, but a
    # hand-made change in the database is) must not make every later upload fail.
    used_bytes = models.BigIntegerField(_("bytes used"), default=0)
    counted_at = models.DateTimeField(_("recounted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("storage use")
        verbose_name_plural = _("storage uses")

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.used_bytes}"
