"""Every endpoint of a real server on loopback: TorchServe's API, the Open Inference Protocol v2,
the handlers, health, metrics, and malformed input answered with a 4xx while the server keeps serving."""
import io
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from conftest import LABELS, VOCAB, gpt, lenet, sample
from PIL import Image
from serve_testmodels import POISON

import ember


def local(model, x):
    with ember.no_grad():
        return model(ember.from_numpy(x)).numpy()


def test_predictions_match_the_model_for_one_sample_and_a_batch(server):
    model = lenet().eval()
    one = httpx.post(server.url + "/predictions/lenet", json=sample(1).tolist())
    assert one.status_code == 200
    np.testing.assert_allclose(one.json(), local(model, sample(1)[None])[0], rtol=1e-5, atol=1e-6)
    batch = httpx.post(server.url + "/predictions/lenet/1.0", json={"data": sample(2, 3).tolist()})
    assert batch.status_code == 200
    np.testing.assert_allclose(batch.json(), local(model, sample(2, 3)), rtol=1e-5, atol=1e-6)


def test_a_saved_program_serves_batched_requests(server):
    model = lenet().eval()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda seed: httpx.post(server.url + "/predictions/lenet_program",
                                                        json=sample(seed).tolist(), timeout=30), range(6)))
    for seed, r in enumerate(answers):
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json(), local(model, sample(seed)[None])[0], rtol=1e-5, atol=1e-6)
    x = sample(7, 3)
    r = httpx.post(server.url + "/v2/models/lenet_program/infer", json={"inputs": [
        {"name": "x", "shape": [3, 1, 28, 28], "datatype": "FP32", "data": x.reshape(-1).tolist()}]})
    np.testing.assert_allclose(np.reshape(r.json()["outputs"][0]["data"], (3, 10)), local(model, x), rtol=1e-5, atol=1e-6)


def test_v2_metadata_and_infer(server):
    assert httpx.get(server.url + "/v2/health/live").json() == {"live": True}
    assert httpx.get(server.url + "/v2").json()["name"] == "ember"
    meta = httpx.get(server.url + "/v2/models/lenet").json()
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
    assert meta["outputs"][0]["shape"] == [-1, 10] and meta["versions"] == ["1.0"]
    assert httpx.get(server.url + "/v2/models/lenet/versions/1.0").json()["name"] == "lenet"
    assert httpx.get(server.url + "/v2/models/lenet/ready").json()["ready"] is True
    assert httpx.get(server.url + "/v2/models/lenet/versions/1.0/ready").status_code == 200
    x = sample(3, 2)
    body = {"id": "req-7", "inputs": [{"name": "x", "shape": [2, 1, 28, 28], "datatype": "FP32",
                                       "data": x.reshape(-1).tolist()}]}
    r = httpx.post(server.url + "/v2/models/lenet/infer", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == "req-7" and out["model_name"] == "lenet" and out["model_version"] == "1.0"
    (logits,) = out["outputs"]
    assert logits["name"] == "logits" and logits["datatype"] == "FP32" and logits["shape"] == [2, 10]
    np.testing.assert_allclose(np.reshape(logits["data"], (2, 10)), local(lenet().eval(), x), rtol=1e-5, atol=1e-6)
    r = httpx.post(server.url + "/v2/models/lenet/versions/1.0/infer", json={**body, "outputs": [{"name": "nope"}]})
    assert r.status_code == 400 and "nope" in r.json()["error"]


def test_image_handler_returns_top_k_labels(server):
    pixels = (np.random.default_rng(5).random((28, 28)) * 255).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(png, format="PNG")
    r = httpx.post(server.url + "/predictions/digits", content=png.getvalue(), headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    x = ((pixels.astype(np.float32) / 255 - 0.5) / 0.25)[None, None]
    logits = local(lenet().eval(), x)[0].astype(np.float64)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    top = np.argsort(-probs)[:3]
    assert list(r.json()) == [LABELS[i] for i in top]
    np.testing.assert_allclose(list(r.json().values()), probs[top], rtol=1e-4)
    bad = httpx.post(server.url + "/predictions/digits", content=b"\x89PNG not really")
    assert bad.status_code == 400 and "image" in bad.json()["message"]


def test_text_handler_logits_and_greedy_generation(server):
    model = gpt().eval()
    ids = [VOCAB.index(c) for c in "hello"]
    r = httpx.post(server.url + "/predictions/gpt", json={"tokens": ids})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["logits"], local(model, np.array([ids]))[0], rtol=1e-4, atol=1e-5)
    r = httpx.post(server.url + "/predictions/gpt", json={"text": "hello", "max_new_tokens": 6})
    assert r.status_code == 200, r.text
    seq = list(ids)
    for _ in range(6):
        seq.append(int(np.argmax(local(model, np.array([seq[-16:]]))[0, -1])))
    assert r.json()["text"] == "".join(VOCAB[i] for i in seq[5:])
    for body, needle in (({"text": "HELLO"}, "vocabulary"), ({"tokens": [99]}, "token ids"),
                         ({"text": "a", "max_new_tokens": 10_000}, "max_new_tokens"), ([1, 2], "either")):
        r = httpx.post(server.url + "/predictions/gpt", json=body)
        assert r.status_code == 400 and needle in r.json()["message"], (body, r.text)


def test_health_names_the_model_that_failed_to_load(server):
    ping = httpx.get(server.url + "/ping")
    assert ping.status_code == 503 and ping.json()["status"] == "Unhealthy"
    broken = ping.json()["models"]["broken/1.0"]
    assert broken["status"] == "FAILED" and "Broken model refuses to load" in broken["error"]
    assert httpx.get(server.url + "/v2/health/ready").status_code == 503
    assert httpx.get(server.url + "/v2/models/broken/ready").json()["status"] == "FAILED"
    r = httpx.post(server.url + "/predictions/broken", json=[1, 2, 3, 4])
    assert r.status_code == 503 and "Broken model refuses to load" in r.json()["message"]


MALFORMED = [
    ("/predictions/lenet", b"[[1, 2", "not valid JSON"),
    ("/predictions/lenet", json.dumps(np.zeros((1, 28, 27)).tolist()).encode(), "expected shape [N, 1, 28, 28]"),
    ("/predictions/lenet", json.dumps([["a"] * 28] * 28).encode(), "only numbers"),
    ("/predictions/lenet", b"[" * 5000 + b"]" * 5000, "deeper than"),
    ("/predictions/lenet", b"[" * 40 + b"1" + b"]" * 40, "depth 40"),
    ("/predictions/lenet", json.dumps({"dat": []}).encode(), "'data'"),
    ("/predictions/double", json.dumps([[1, 2, 3, 4], [1, 2]]).encode(), "ragged"),
    ("/v2/models/lenet/infer", json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 28, 28], "datatype": "FP64",
                                                       "data": [0.0] * 784}]}).encode(), "does not match the model's FP32"),
    ("/v2/models/lenet/infer", json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 28, 28], "datatype": "FP32",
                                                       "data": [0.0] * 700}]}).encode(), "needs 784 elements"),
    ("/v2/models/lenet/infer", json.dumps({"inputs": [{"name": "x", "shape": [4096, 1024, 1024],
                                                       "datatype": "FP32", "data": [0.0]}]}).encode(), "limit"),
    ("/v2/models/lenet/infer", json.dumps({"inputs": [{"name": "x", "shape": [1, 1, 28, 28], "datatype": "STRING",
                                                       "data": [0.0]}]}).encode(), "unsupported datatype"),
    ("/v2/models/lenet/infer", b"{}", "'inputs'"),
]


@pytest.mark.parametrize("path, body, needle", MALFORMED)
def test_malformed_input_gets_400_with_a_clear_message(server, path, body, needle):
    r = httpx.post(server.url + path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert needle in r.json()["message"] and "Traceback" not in r.text


def test_unknown_models_versions_routes_and_traversal(server):
    for path, code, needle in [
        ("/predictions/nosuch", 404, "not registered"), ("/predictions/lenet/9.9", 404, "no version '9.9'"),
        ("/predictions/..%2F..%2Fetc%2Fpasswd", 404, "no such endpoint"), ("/predictions/..%2Fx", 400, "invalid"),
        ("/predictions/lenet/%2e%2e", 400, "invalid model version"),
        ("/predictions/%2e%2e/x", 400, "invalid model name"), ("/v2/models/a%00b/infer", 400, "invalid model name"),
        ("/nothing/here", 404, "no such endpoint"),
    ]:
        r = httpx.post(server.url + path, content=b"[]")
        assert r.status_code == code and needle in r.json()["message"], (path, r.text)
    assert httpx.delete(server.url + "/ping").status_code == 405


def test_oversized_body_gets_413(server):
    r = httpx.post(server.url + "/predictions/lenet", content=b"[" + b"0," * (6 * 1024 * 1024) + b"0]")
    assert r.status_code == 413 and "limit of 10485760 bytes" in r.json()["message"]


def test_a_bad_request_in_a_batch_fails_alone(server):
    rows = [[float(i), 1.0, 2.0, 3.0] for i in range(8)]
    rows[3][2] = POISON
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda row: httpx.post(server.url + "/predictions/double", json=row, timeout=30), rows))
    for i, r in enumerate(answers):
        if i == 3:
            assert r.status_code == 400 and "poisoned input" in r.json()["message"]
        else:
            assert r.status_code == 200 and r.json() == [2 * v for v in rows[i]]
    assert server.metric("ember_serve_batch_size_count", model="double") < 8   # some requests shared a batch


def test_metrics(server):
    httpx.post(server.url + "/predictions/lenet", json=sample(9).tolist())
    httpx.post(server.url + "/predictions/lenet", content=b"{")
    assert server.metric("ember_serve_requests_total", model="lenet", api="torchserve", code="200") >= 1
    assert server.metric("ember_serve_requests_total", model="lenet", api="torchserve", code="400") >= 1
    assert server.metric("ember_serve_requests_total", model="_unknown", api="torchserve", code="404") >= 0
    assert server.metric("ember_serve_request_latency_seconds_count", model="lenet") >= 1
    assert server.metric("ember_serve_batch_size_sum", model="lenet") >= 1
    assert server.metric("ember_serve_model_load_seconds", model="lenet", version="1.0") > 0
    assert server.metric("ember_serve_workers_ready", model="lenet", version="1.0") == 1
    text = httpx.get(server.metrics_url).text
    assert "ember_serve_queue_depth" in text and "ember_serve_worker_restarts_total" in text
    assert server.metric("ember_serve_requests_in_flight", model="lenet") == 0
    assert httpx.get(server.url + "/metrics").status_code == 404   # metrics live on their own port only
