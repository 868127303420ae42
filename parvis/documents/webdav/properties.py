"""Dead properties (what clients set with PROPPATCH) in the database (DavProperty).

wsgidav hands the property manager a resource's ref-URL. Properties are stored under the
object instead ("document:12", "folder:7"): the URL is translated through the request's tree,
already resolved for that very request. A file renamed or moved on the web, or restored from
the trash, so keeps what a client attached to it, and a new file that takes an old name does
not inherit it.
"""

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from django.db import transaction
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Cast, Concat

from ..models import DavProperty, Document, Folder
from .tree import DavContext, Refused

Environ = dict[str, Any]


def key_of(url: str, environ: Environ | None) -> str | None:
    """The storage key of the resource at this ref-URL, or None if it is not there."""
    context: DavContext | None = (environ or {}).get("parvis.dav")
    if context is None:
        return None
    try:
        node = context.resolve(unquote(url))
    except Refused:
        return None
    return node.key if node is not None else None


class DbPropertyManager:
    """wsgidav's PropertyManager contract, over the DavProperty table."""

    def __repr__(self) -> str:
        return "DbPropertyManager"

    def get_properties(self, norm_url: str, environ: Environ | None = None) -> list[str]:
        key = key_of(norm_url, environ)
        if key is None:
            return []
        return list(DavProperty.objects.filter(path=key).order_by("name").values_list("name", flat=True))

    def get_property(self, norm_url: str, name: str, environ: Environ | None = None) -> str | None:
        key = key_of(norm_url, environ)
        if key is None:
            return None
        return DavProperty.objects.filter(path=key, name=name).values_list("value", flat=True).first()

    def write_property(
        self,
        norm_url: str,
        name: str,
        property_value: bytes | str,
        dry_run: bool = False,
        environ: Environ | None = None,
    ) -> None:
        key = key_of(norm_url, environ)
        if dry_run or key is None:
            return
        value = property_value.decode("utf-8") if isinstance(property_value, bytes) else property_value
        DavProperty.objects.update_or_create(path=key, name=name, defaults={"value": value})

    def remove_property(
        self, norm_url: str, name: str, dry_run: bool = False, environ: Environ | None = None
    ) -> None:
        key = key_of(norm_url, environ)
        if not dry_run and key is not None:
            DavProperty.objects.filter(path=key, name=name).delete()

    def remove_properties(self, norm_url: str, environ: Environ | None = None) -> None:
        key = key_of(norm_url, environ)
        if key is not None:
            DavProperty.objects.filter(path=key).delete()

    def copy_properties(self, src_url: str, dest_url: str, environ: Environ | None = None) -> None:
        source, target = key_of(src_url, environ), key_of(dest_url, environ)
        if source is not None and target is not None:
            copy_keyed(source, target)

    def move_properties(
        self, src_url: str, dest_url: str, with_children: bool, environ: Environ | None = None
    ) -> None:
        """Nothing to do: properties follow their object wherever it goes."""


def copy_keyed(source: str, target: str) -> None:
    """The dead properties of one object onto another (a COPY)."""
    with transaction.atomic():
        DavProperty.objects.filter(path=target).delete()
        DavProperty.objects.bulk_create(
            DavProperty(path=target, name=name, value=value)
            for name, value in DavProperty.objects.filter(path=source).values_list("name", "value")
        )


def _keys(prefix: str, qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.annotate(dav_key=Concat(Value(prefix), Cast("pk", output_field=CharField()))).values("dav_key")


def properties_in_folder(folder: Folder, extra_keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """The dead properties of a folder's children (and of `extra_keys`), in one query whatever
    their number: the children's keys are computed by the database, never sent as a list."""
    children = _keys("folder:", Folder.objects.filter(parent=folder, deleted_at__isnull=True))
    documents = _keys("document:", Document.objects.filter(folder=folder, deleted_at__isnull=True))
    rows = DavProperty.objects.filter(path__in=children) | DavProperty.objects.filter(path__in=documents)
    rows |= DavProperty.objects.filter(path__in=list(extra_keys))
    found: dict[str, list[tuple[str, str]]] = {}
    for key, name, value in rows.order_by("path", "name").values_list("path", "name", "value"):
        found.setdefault(key, []).append((name, value))
    return found


def properties_of(keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    rows = DavProperty.objects.filter(path__in=list(keys)).order_by("path", "name")
    for key, name, value in rows.values_list("path", "name", "value"):
        found.setdefault(key, []).append((name, value))
    return found
