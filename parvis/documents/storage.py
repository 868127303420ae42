"""Where the bytes live: a content-addressed store of blobs named by their SHA-256.

Bytes arrive in a spool file in the store's own temporary folder (so that the final step is a
rename, never a second copy), hashed as they come; they are flushed and fsynced, then renamed
into place (the folder fsynced too) or sent to S3, and only then may a database row point to
them. Two stores: local disk (the embedded default) and S3-compatible object storage.
"""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings

CHUNK = 1024 * 1024


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolFile:
    """A file being received: written to a temporary file, hashed on the way."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix="spool-")
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)

    def finish(self) -> str:
        """Flush and fsync; returns the SHA-256 of what was written."""
        if not self.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            self.closed = True
        return self.hash.hexdigest()

    def discard(self) -> None:
        if not self.closed:
            self.file.close()
            self.closed = True
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "SpoolFile":
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.discard()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Delivery:
    """How a download is handed over: a local path (streamed by us or by the reverse proxy)
    or a presigned URL of the object store."""

    path: Path | None = None
    url: str | None = None


class LocalBlobStore:
    """Blobs under `root/ab/cd/abcd…`; spool files under `root/tmp` (same filesystem)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.spool_dir = root / "tmp"
        self.derived_dir = root / "derived"

    def spool(self) -> SpoolFile:
        return SpoolFile(self.spool_dir)

    def path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).exists()

    def adopt(self, source: Path, sha: str) -> None:
        """Move a finished, fsynced spool file into the store under its hash. If the same
        content is already there, the spool file is simply dropped."""
        target = self.path(sha)
        if target.exists():
            source.unlink(missing_ok=True)
            os.utime(target)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        fsync_dir(target.parent)

    def open(self, sha: str) -> BinaryIO:
        return self.path(sha).open("rb")

    def delivery(self, sha: str, filename: str, inline: bool, content_type: str | None = None) -> Delivery:
        return Delivery(path=self.path(sha))

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

    def read_derived(self, key: str) -> bytes | None:
        path = self.derived_dir / key
        return path.read_bytes() if path.exists() else None

    def write_derived(self, key: str, data: bytes) -> None:
        path = self.derived_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


class S3BlobStore:
    """Blobs as objects `blobs/<sha>` of one bucket; spool files on local disk first. A blob
    counts as written once S3 has acknowledged the PUT (S3 is durable by contract)."""

    def __init__(self, bucket: str, spool_dir: Path, **client_options: object) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.spool_dir = spool_dir
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client = boto3.client("s3", config=config, **client_options)  # type: ignore[call-overload]

    def key(self, sha: str) -> str:
        return f"blobs/{sha}"

    def spool(self) -> SpoolFile:
        return SpoolFile(self.spool_dir)

    def exists(self, sha: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha))
        except ClientError:
            return False
        return True

    def adopt(self, source: Path, sha: str) -> None:
        """Send a finished spool file (unless S3 already holds that content), then drop it.
        If S3 refuses, the file stays: a chunked upload's file is all the client was
        promised, and the next attempt sends it again."""
        if not self.exists(sha):
            self.client.upload_file(str(source), self.bucket, self.key(sha))
        source.unlink(missing_ok=True)

    def open(self, sha: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(sha))["Body"]  # type: ignore[no-any-return]

    def delivery(self, sha: str, filename: str, inline: bool, content_type: str | None = None) -> Delivery:
        """A presigned GET (SigV4, five minutes) that makes S3 answer with our file name and
        our type: objects are stored untyped, and a browser must not guess an inline type."""
        disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
        params = {"Bucket": self.bucket, "Key": self.key(sha), "ResponseContentDisposition": disposition}
        params["ResponseContentType"] = content_type or "application/octet-stream"
        url = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
        return Delivery(url=url)

    def delete(self, sha: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha))

    def read_derived(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=f"derived/{key}")["Body"]
        except ClientError:
            return None
        return body.read()  # type: ignore[no-any-return]

    def write_derived(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=f"derived/{key}", Body=data)


BlobStore = LocalBlobStore | S3BlobStore


@cache
def blob_store() -> BlobStore:
    """The store the settings describe (S3 when PARVIS_S3_BUCKET is set)."""
    if settings.PARVIS_S3["bucket"]:
        s3 = settings.PARVIS_S3
        options = {
            "endpoint_url": s3["endpoint_url"] or None,
            "region_name": s3["region"] or None,
            "aws_access_key_id": s3["access_key"] or None,
            "aws_secret_access_key": s3["secret_key"] or None,
        }
        return S3BlobStore(s3["bucket"], Path(settings.PARVIS_SPOOL_DIR), **options)
    return LocalBlobStore(Path(settings.PARVIS_BLOB_DIR))


def iter_file(f: BinaryIO, start: int = 0, length: int | None = None) -> Iterator[bytes]:
    if start:
        f.seek(start)
    remaining = length
    while remaining is None or remaining > 0:
        chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk
