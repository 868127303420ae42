import pytest
from tests.support.dav import dav_world, COUNCIL, AGENDA

@pytest.fixture(scope="module")
def dav(tmp_path_factory):
    with dav_world(tmp_path_factory.mktemp("dav"), "dav-smoke") as world:
        yield world

def test_smoke(dav):
    c = dav.client("elu")
    for path in ["/dav/", "/dav/saint-aubin/", COUNCIL + "/", COUNCIL + "/Délibérations/"]:
        a = c.propfind(path, "1")
        print(path, a.status, a.body[:3000])
    a = c.get(AGENDA)
    print(a.status, a.headers, a.body)
    a = dav.client("anonyme").propfind("/dav/")
    print(a.status, a.headers)
    print(dav.inst.log_path.read_text()[-3000:])
