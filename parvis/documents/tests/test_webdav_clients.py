"""Real WebDAV clients against a real server: the litmus compliance suites, and an rclone
round trip of a tree of files with accents in their names.

Both tools are Debian packages (make system-test-deps). Without them these tests are skipped
on a developer's machine and fail in CI.
"""

import filecmp
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Secrets
from tests.support.dav import COUNCIL, DavWorld, dav_world, missing_tool

pytestmark = pytest.mark.slow

SUITES = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


@pytest.fixture(scope="module")
def dav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DavWorld]:
    with dav_world(tmp_path_factory.mktemp("dav-clients"), "dav-clients") as world:
        yield world


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing_tool(f"{name} is not installed (make system-test-deps)")
    return str(path)


@pytest.mark.parametrize("suite", SUITES)
def test_litmus_passes_every_test_of_its_suite_as_a_contributor(dav: DavWorld, suite: str) -> None:
    """elu contributes to the council's space: litmus works in a collection it makes there."""
    litmus = tool("litmus")
    run = subprocess.run(
        [litmus, f"{dav.url}{COUNCIL}/", dav.emails["elu"], dav.secrets["elu"]],
        env={**os.environ, "TESTS": suite},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    summaries = SUMMARY.findall(run.stdout)
    assert summaries, run.stdout + run.stderr
    [(name, ran, passed, failed)] = summaries
    assert (name, failed, passed) == (suite, "0", ran), run.stdout
    assert run.returncode == 0, run.stdout


def write_tree(root: Path) -> None:
    """A small mairie's share: nested folders, accents, an empty folder, a few megabytes."""
    (root / "Séances" / "2026" / "Procès-verbaux").mkdir(parents=True)
    (root / "Séances" / "2026" / "Procès-verbaux" / "PV du 12 mars — version définitive.txt").write_text(
        "Le conseil municipal s’est réuni à la mairie.\n" * 50
    )
    (root / "Séances" / "Ordre du jour.pdf").write_bytes(os.urandom(300_000))
    (root / "Budget primitif 2027.ods").write_bytes(os.urandom(3_500_000))
    (root / "Urbanisme" / "Élagage des arbres").mkdir(parents=True)
    (root / "Urbanisme" / "Élagage des arbres" / "photo ŒIL.jpg").write_bytes(os.urandom(900_000))
    (root / "Vide").mkdir()


def same_tree(left: Path, right: Path) -> list[str]:
    """What differs between two trees, comparing every file byte for byte."""
    differences = []
    names = {p.relative_to(left) for p in left.rglob("*")} | {p.relative_to(right) for p in right.rglob("*")}
    for name in sorted(names):
        a, b = left / name, right / name
        if not (a.exists() and b.exists()) or a.is_dir() != b.is_dir():
            differences.append(f"only on one side: {name}")
        elif a.is_file() and not filecmp.cmp(a, b, shallow=False):
            differences.append(f"different bytes: {name}")
    return differences


def test_rclone_syncs_a_tree_up_and_back_byte_for_byte(dav: DavWorld, tmp_path: Path) -> None:
    rclone = tool("rclone")
    obscured = subprocess.run(
        [rclone, "obscure", dav.secrets["elu"]], capture_output=True, text=True, check=True
    ).stdout.strip()
    Secrets().add(obscured)
    env = {
        **os.environ,
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_PARVIS_TYPE": "webdav",
        "RCLONE_CONFIG_PARVIS_URL": f"{dav.url}/dav/",
        "RCLONE_CONFIG_PARVIS_VENDOR": "other",
        "RCLONE_CONFIG_PARVIS_USER": dav.emails["elu"],
        "RCLONE_CONFIG_PARVIS_PASS": obscured,
    }
    remote = "parvis:saint-aubin/conseil/Partage de la mairie"

    def sync(source: str, target: str) -> str:
        run = subprocess.run(
            [rclone, "sync", source, target, "--create-empty-src-dirs", "-v"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        return run.stderr

    local, back = tmp_path / "mairie", tmp_path / "retour"
    write_tree(local)
    sync(str(local), remote)
    sync(remote, str(back))
    assert same_tree(local, back) == []
    again = sync(str(local), remote)
    assert "Copied" not in again  # nothing changed: nothing sent again
    (local / "Séances" / "Ordre du jour.pdf").unlink()
    (local / "Séances" / "Ordre du jour modifié.pdf").write_bytes(b"%PDF-1.4 nouvel ordre du jour")
    sync(str(local), remote)
    sync(remote, str(back))
    assert same_tree(local, back) == []
