from django.test import Client


def test_smoke(world, django_capture_on_commit_callbacks):
    from parvis.core.audit import Actor
    from parvis.documents import actions
    from parvis.documents.policies import documents_policy, folders_policy

    space = world.commission
    space.tools = ["documents"]
    space.save()
    root = actions.root_folder(space)
    with django_capture_on_commit_callbacks(execute=True):
        sub = actions.create_folder(Actor(world.maire), root, "Budget")
        stored = actions.store_bytes(Actor(world.maire), sub, "délibération.txt", "Délibération du conseil municipal".encode())
    assert stored.created
    assert set(folders_policy.visible(world.elu)) == {root, sub}
    assert list(documents_policy.visible(world.elu)) == [stored.document]
    assert set(folders_policy.writable(world.elu)) == {root, sub}
    actions.set_restriction(Actor(world.maire), sub, True, [actions.Grant(None, world.direction, "read")])
    assert list(folders_policy.visible(world.elu)) == [root]
    assert set(folders_policy.visible(world.maire)) == {root, sub}
    c = Client()
    c.force_login(world.maire)
    for url in [f"/o/saint-aubin/e/finances/documents/", f"/o/saint-aubin/e/finances/documents/dossier/{sub.pk}/",
                f"/o/saint-aubin/e/finances/documents/fichier/{stored.document.pk}/",
                f"/o/saint-aubin/e/finances/documents/dossier/{sub.pk}/acces/",
                f"/o/saint-aubin/e/finances/documents/dossier/{sub.pk}/droits/",
                f"/o/saint-aubin/e/finances/documents/recherche/?q=deliberations",
                f"/o/saint-aubin/documents/recents/"]:
        r = c.get(url)
        print(url, r.status_code)
        assert r.status_code == 200, r.content.decode()[:3000]
    r = c.get(f"/o/saint-aubin/e/finances/documents/recherche/?q=deliberations")
    assert "<mark>" in r.content.decode()
    r = c.get(f"/o/saint-aubin/e/finances/documents/fichier/{stored.document.pk}/telecharger/")
    assert b"".join(r.streaming_content) == "Délibération du conseil municipal".encode()
