"""The demo commune's documents: a council with convocations and minutes, and a folder kept
for the direction, loaded after `load_demo`."""

import io

from django.core.management import call_command

from parvis.core.models import User
from parvis.documents.models import Document, Folder
from parvis.documents.policies import documents_policy
from parvis.spaces.management.commands.load_demo import DEMO_PASSWORD
from parvis.spaces.models import Space
from parvis.spaces.tests.test_demo import load


def test_the_demo_council_has_documents_and_a_folder_kept_for_the_direction(db, secrets_registry):
    secrets_registry.add(DEMO_PASSWORD)
    load()
    call_command("load_demo_documents", stdout=io.StringIO())
    call_command("load_demo_documents", stdout=io.StringIO())  # twice: loaded once
    assert Document.objects.filter(space__slug="conseil-municipal").count() == 3
    assert Folder.objects.get(name="Direction").restricted
    elu = User.objects.get(email="elu@saint-aubin.localhost")
    assert set(documents_policy.visible(elu).values_list("name", flat=True)) == {
        "Convocation du 12 mars 2026.pdf",
        "Compte rendu du 5 février 2026.txt",
    }
    commission = Space.objects.get(slug="commission-finances")
    folders = Folder.objects.filter(space=commission, parent__isnull=False)
    assert set(folders.values_list("name", flat=True)) == {
        "Convocations",
        "Comptes rendus",
        "Documents de travail",
    }
