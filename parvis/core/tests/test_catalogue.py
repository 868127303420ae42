"""The French catalogue: every string a user reads has a French translation, and it compiles.

The sources are extracted again, exactly as `make messages` does, but in a temporary copy of the
tree: the fresh catalogue, merged with the committed one, must not hold a single new, empty or
fuzzy entry. Nothing in the repository is written to.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ROOT / "parvis"
CATALOGUE = Path("locale") / "fr" / "LC_MESSAGES" / "django.po"
# The same command as `make messages`, run from the `parvis` directory.
MAKEMESSAGES = [
    "makemessages",
    *("-l", "fr", "--no-obsolete", "--no-location", "-v0"),
    *("--ignore", "settings_test.py", "--ignore", "*/tests/*"),
]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def copy_of_the_tree(destination: Path) -> Path:
    """manage.py and the whole `parvis` package (committed catalogue included), so that the
    settings, and therefore LOCALE_PATHS, resolve inside the copy."""
    shutil.copy2(ROOT / "manage.py", destination / "manage.py")
    shutil.copytree(
        SOURCES, destination / "parvis", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    )
    return destination


def extract(tree: Path) -> polib.POFile:
    """Run makemessages in the copied tree and return the merged catalogue it wrote."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "parvis.settings",
        "PYTHONPATH": str(tree),
        "PARVIS_VAR_DIR": str(tree / "var"),
        "PARVIS_LOG_FILE": "",
        "SECRET_KEY": "catalogue-test-only",
    }
    result = subprocess.run(
        [sys.executable, str(tree / "manage.py"), *MAKEMESSAGES],
        cwd=tree / "parvis",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    return polib.pofile(str(tree / "parvis" / CATALOGUE))


def translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def problems(catalogue: polib.POFile) -> list[str]:
    """Each entry that a French reader would see in English, or half-translated."""
    found = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        forms = translations(entry)
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {entry.msgid!r}")
        elif not forms or not all(form.strip() for form in forms):
            found.append(f"untranslated: {entry.msgid!r}")
        elif entry.msgid_plural and len(forms) != 2:
            found.append(f"needs exactly two plural forms: {entry.msgid!r}")
    return found


def missing_from(committed: polib.POFile, fresh: polib.POFile) -> list[str]:
    known = {(e.msgctxt, e.msgid, e.msgid_plural) for e in committed if not e.obsolete}
    return [
        f"not in the committed catalogue: {e.msgid!r}"
        for e in fresh
        if not e.obsolete and (e.msgctxt, e.msgid, e.msgid_plural) not in known
    ]


@pytest.fixture(autouse=True)
def _repository_untouched():
    before = (SOURCES / CATALOGUE).read_bytes()
    yield
    assert (SOURCES / CATALOGUE).read_bytes() == before, "a test wrote to the real catalogue"
    assert not list(SOURCES.rglob("_catalogue_probe.html")), "a test wrote to the real sources"


@pytest.fixture(scope="module")
def committed() -> polib.POFile:
    return polib.pofile(str(SOURCES / CATALOGUE))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    return extract(copy_of_the_tree(tmp_path_factory.mktemp("sources")))


def test_every_string_of_the_interface_has_a_french_translation(committed, fresh):
    gaps = missing_from(committed, fresh) + problems(fresh)
    assert not gaps, (
        "The French catalogue is behind the sources. Run `make messages`, translate the entries "
        "below in parvis/locale/fr/LC_MESSAGES/django.po, and remove their fuzzy flags:\n" + "\n".join(gaps)
    )


def test_a_new_string_without_translation_or_a_reworded_one_would_be_caught(committed, tmp_path):
    tree = copy_of_the_tree(tmp_path)
    reworded = max(
        (
            e.msgid
            for e in committed
            if not e.msgid_plural and not re.search(r"[%\"{}]", e.msgid) and len(e.msgid) > 40
        ),
        key=len,
    )
    probe = tree / "parvis" / "core" / "templates" / "core" / "_catalogue_probe.html"
    probe.write_text(
        "{% load i18n %}"
        '{% translate "A sentence nobody has translated yet" %}'
        f'{{% translate "{reworded[:-1]}, now reworded." %}}'
    )
    fresh = extract(tree)
    gaps = missing_from(committed, fresh) + problems(fresh)
    assert "untranslated: 'A sentence nobody has translated yet'" in gaps
    assert any(gap.startswith("fuzzy: ") and "now reworded" in gap for gap in gaps), gaps


def test_the_catalogue_has_no_fuzzy_or_empty_entry_and_speaks_french(committed):
    assert committed.metadata.get("Language") == "fr"
    assert committed.metadata.get("Plural-Forms") == "nplurals=2; plural=(n > 1);"
    assert not committed.metadata_is_fuzzy, "remove the fuzzy flag of the header"
    assert not problems(committed)


def test_french_text_keeps_every_placeholder_and_french_typography(committed):
    wrong = []
    for entry in committed:
        if entry.obsolete:
            continue
        expected = set(PLACEHOLDER.findall(entry.msgid + entry.msgid_plural))
        for form in translations(entry):
            kept = set(PLACEHOLDER.findall(form))
            # A French singular may spell out "une" instead of printing the count.
            if kept - expected or (not entry.msgid_plural and kept != expected):
                wrong.append(f"placeholders differ: {entry.msgid!r} -> {form!r}")
            if re.search(r"['\"“”]", form):
                wrong.append(f"use ’ and « » in French: {form!r}")
    assert not wrong, "\n".join(wrong)


def test_the_catalogue_compiles_with_msgfmt_checking_formats():
    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", os.devnull, str(SOURCES / CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
