"""The management API on its own port: bearer token, register from the model store only, describe, scale,
default version, unregister."""
import httpx
import pytest
from conftest import Server


@pytest.fixture(scope="module")
def managed(archives):
    s = Server(archives, ["lenet"])
    yield s
    s.terminate()


def test_management_needs_the_token(managed):
    r = httpx.get(managed.mgmt + "/models")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    r = httpx.get(managed.mgmt + "/models", headers={"Authorization": "Bearer wrong-token-wrong-token"})
    assert r.status_code == 403 and "not valid" in r.json()["message"]
    r = httpx.post(managed.mgmt + "/models?url=lenet_v2.emar", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert httpx.get(managed.url + "/models").status_code == 404   # not on the inference port
    r = httpx.get(managed.mgmt + "/models", headers=managed.auth)
    assert r.json() == {"models": [{"modelName": "lenet", "modelUrl": "lenet.emar"}]}


@pytest.mark.parametrize("url, code, needle", [
    ("../lenet.emar", 400, "file name"), ("/etc/passwd", 400, "file name"), ("%2e%2e%2flenet.emar", 400, "file name"),
    ("http://example.com/x.emar", 400, "file name"), ("nope.emar", 404, "no archive"), (".hidden", 400, "file name"),
])
def test_register_refuses_anything_but_a_store_file(managed, url, code, needle):
    r = httpx.post(f"{managed.mgmt}/models?url={url}", headers=managed.auth)
    assert r.status_code == code and needle in r.json()["message"], r.text


def test_register_versions_scale_default_unregister(managed):
    auth = managed.auth
    r = httpx.post(managed.mgmt + "/models?url=lenet_v2.emar&initial_workers=1&batch_size=4", headers=auth, timeout=90)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == 'Model "lenet" Version: 2.0 registered with 1 initial workers'
    again = httpx.post(managed.mgmt + "/models?url=lenet_v2.emar", headers=auth, timeout=90)
    assert again.status_code == 409
    both = managed.describe("lenet")
    assert [(d["modelVersion"], d["isDefault"], d["batchSize"]) for d in both] == [("1.0", True, 8), ("2.0", False, 4)]
    assert httpx.get(managed.url + "/v2/models/lenet").json()["versions"] == ["1.0", "2.0"]

    r = httpx.put(managed.mgmt + "/models/lenet/2.0/set-default", headers=auth)
    assert r.status_code == 200
    assert httpx.get(managed.url + "/v2/models/lenet/ready").json()["version"] == "2.0"

    r = httpx.put(managed.mgmt + "/models/lenet/2.0?min_worker=2", headers=auth, timeout=90)
    assert r.status_code == 200, r.text
    (v2,) = httpx.get(managed.mgmt + "/models/lenet/2.0", headers=auth).json()
    assert len(v2["workers"]) == 2 and {w["status"] for w in v2["workers"]} == {"ready"} and v2["status"] == "READY"
    assert len({w["pid"] for w in v2["workers"]}) == 2
    assert managed.metric("ember_serve_workers_ready", model="lenet", version="2.0") == 2
    r = httpx.put(managed.mgmt + "/models/lenet/2.0?min_worker=1", headers=auth, timeout=30)
    assert r.status_code == 200 and len(managed.describe("lenet")[1]["workers"]) == 1
    for bad in ("min_worker=0", "min_worker=x", "min_worker=1000", ""):
        assert httpx.put(f"{managed.mgmt}/models/lenet/2.0?{bad}", headers=auth).status_code == 400

    r = httpx.delete(managed.mgmt + "/models/lenet/2.0", headers=auth, timeout=30)
    assert r.status_code == 200 and "2.0 unregistered" in r.json()["status"]
    assert httpx.get(managed.url + "/v2/models/lenet/ready").json()["version"] == "1.0"
    assert httpx.post(managed.url + "/predictions/lenet/2.0", json=[]).status_code == 404
    assert httpx.delete(managed.mgmt + "/models/nosuch", headers=auth).status_code == 404
    assert httpx.get(managed.mgmt + "/models/..%2f", headers=auth).status_code in (400, 404)
