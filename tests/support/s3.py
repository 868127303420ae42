"""A real S3 server for the storage tests: moto's standalone server (`moto_server`, from
moto[server] in requirements-test.txt), on a free 127.0.0.1 port, spoken to over HTTP by boto3
exactly as Parvis speaks to any S3-compatible store. Each test gets a bucket of its own.

    def test_…(s3_store: S3BlobStore): …          # the store the settings now describe
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.instance import LOGS, free_port

ACCESS_KEY = "parvis-test-key"
SECRET_KEY = "parvis-test-secret-key"
REGION = "us-east-1"
START_TIMEOUT = 30.0


def _program() -> list[str]:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    message = "moto_server is not installed (make install-test: moto[server])"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable: skip raises


class S3Server:
    """A running moto_server process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        LOGS.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.log = (LOGS / f"moto-{worker}.log").open("ab")
        self.process = subprocess.Popen(
            [*_program(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"moto_server stopped at start ({self.process.returncode})")
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"moto_server did not answer within {START_TIMEOUT:.0f}s")
                time.sleep(0.1)

    def client_options(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
        }

    def settings(self, bucket: str) -> dict[str, str]:
        """The PARVIS_S3 setting for a bucket of this server."""
        return {
            "bucket": bucket,
            "endpoint_url": self.endpoint,
            "region": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }

    def env(self, bucket: str) -> dict[str, str]:
        """The same, as the environment of a real instance."""
        return {
            "PARVIS_S3_BUCKET": bucket,
            "PARVIS_S3_ENDPOINT_URL": self.endpoint,
            "PARVIS_S3_REGION": REGION,
            "PARVIS_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "PARVIS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def create_bucket(self) -> str:
        import boto3

        bucket = f"parvis-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", **self.client_options()).create_bucket(Bucket=bucket)
        return bucket

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto_server per test process."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_store(s3_server: S3Server, settings: Any, secrets_registry: Any) -> Iterator[Any]:
    """Switch this test's blob store to S3: a fresh bucket, spool files in the test's folder.
    The secret key is registered: the suite then proves it never reaches a log."""
    from parvis.documents.storage import blob_store

    secrets_registry.add(SECRET_KEY)
    settings.PARVIS_S3 = s3_server.settings(s3_server.create_bucket())
    blob_store.cache_clear()
    yield blob_store()
    blob_store.cache_clear()
