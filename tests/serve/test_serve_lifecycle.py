"""A server's life under trouble: a worker killed mid-request, overload, a stalled model, SIGTERM."""
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import Server
from serve_testmodels import SLOW


@pytest.fixture(scope="module")
def troubled(archives):
    s = Server(archives, ["slow"], "--request-timeout", "2", "--queue-size", "2", "--max-batch-size", "1")
    yield s
    s.terminate()


def wait_ready(server, model, timeout=60):
    deadline = time.monotonic() + timeout
    while httpx.get(f"{server.url}/v2/models/{model}/ready").status_code != 200:
        assert time.monotonic() < deadline, server.output()
        time.sleep(0.05)


def watch_until_ready(server, model):
    """Poll health until the model is ready again; returns the statuses seen on the way."""
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = httpx.get(f"{server.url}/v2/models/{model}/ready")
        ping = httpx.get(server.url + "/ping")
        seen.append((ready.status_code, ready.json()["status"], ping.status_code))
        if ready.status_code == 200 and any(code != 200 for code, _, _ in seen):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"never became ready again: {seen[-5:]}")


def test_a_worker_killed_mid_request_is_replaced_and_health_tells(troubled):
    wait_ready(troubled, "slow")
    (before,) = troubled.describe("slow")[0]["workers"]
    batches = troubled.metric("ember_serve_batch_size_count", model="slow")
    result = {}
    request = threading.Thread(target=lambda: result.update(r=httpx.post(troubled.url + "/predictions/slow",
                                                                          json=[1, 2, 3, 4], timeout=60)))
    request.start()
    deadline = time.monotonic() + 30
    while troubled.metric("ember_serve_batch_size_count", model="slow") == batches:   # until its batch is sent
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.05)   # the model sleeps 0.4 s per batch: the request is inside the worker now
    os.kill(before["pid"], signal.SIGKILL)
    seen = watch_until_ready(troubled, "slow")
    assert (503, "UNAVAILABLE", 503) in seen   # while the only worker is replaced, nobody claims to be ready
    request.join(60)
    # retried on the new worker, or timed out if the replacement took longer than the request timeout
    assert result["r"].status_code in (200, 504), result["r"].text
    if result["r"].status_code == 200:
        assert result["r"].json() == [2, 4, 6, 8]
    (after,) = troubled.describe("slow")[0]["workers"]
    assert after["pid"] != before["pid"] and after["restarts"] == 1 and after["status"] == "ready"
    assert troubled.metric("ember_serve_worker_restarts_total", model="slow") == 1
    assert httpx.post(troubled.url + "/predictions/slow", json=[1, 1, 1, 1], timeout=30).json() == [2, 2, 2, 2]

    os.kill(after["pid"], signal.SIGKILL)   # an idle worker's death is noticed without any request
    seen = watch_until_ready(troubled, "slow")
    assert any(code == 503 for code, _, _ in seen)
    assert troubled.describe("slow")[0]["workers"][0]["restarts"] == 2


def test_overload_answers_503_with_retry_after(troubled):
    wait_ready(troubled, "slow")
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: httpx.post(troubled.url + "/predictions/slow", json=[i, 0, 0, 0], timeout=30),
                                range(10)))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) == {200, 503} and codes.count(200) >= 2, codes
    refused = [r for r in answers if r.status_code == 503]
    assert all(r.headers["Retry-After"] == "1" and "queue is full" in r.json()["message"] for r in refused)
    ok = [r for r in answers if r.status_code == 200]
    assert all(r.json()[1:] == [0, 0, 0] for r in ok)
    assert httpx.get(troubled.metrics_url).status_code == 200
    assert troubled.metric("ember_serve_requests_total", model="slow", api="torchserve", code="503") >= len(refused)


def test_a_stalled_model_times_out_with_504_and_its_worker_is_replaced(troubled):
    wait_ready(troubled, "slow")
    restarts = troubled.describe("slow")[0]["workers"][0]["restarts"]
    start = time.monotonic()
    r = httpx.post(troubled.url + "/predictions/slow", json=[SLOW, 0, 0, 0], timeout=30)
    assert r.status_code == 504 and "within 2 s" in r.json()["message"]
    assert time.monotonic() - start < 5
    deadline = time.monotonic() + 60   # the stalled worker is stopped a second after the timeout, then replaced
    while troubled.describe("slow")[0]["workers"][0]["restarts"] == restarts:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    wait_ready(troubled, "slow")
    assert httpx.post(troubled.url + "/predictions/slow", json=[3, 0, 0, 0], timeout=30).json() == [6, 0, 0, 0]


def test_not_ready_until_loaded_and_sigterm_drains_accepted_requests(archives):
    s = Server(archives, ["slow"], "--max-batch-size", "1", wait=False)
    try:
        # the ports are bound before the models load: alive at once, ready only after the warm-up batch
        assert httpx.get(s.url + "/v2/health/live").status_code == 200
        ping = httpx.get(s.url + "/ping")
        assert ping.status_code == 503 and list(ping.json()["models"].values()) == [{"status": "LOADING"}], ping.text
        assert httpx.get(s.url + "/v2/health/ready").status_code == 503
        s.wait_loaded(1)
        assert httpx.get(s.url + "/v2/health/ready").status_code == 200
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(httpx.post, s.url + "/predictions/slow", json=[i, 1, 1, 1], timeout=30)
                       for i in range(6)]
            deadline = time.monotonic() + 60   # until the server has received all six (answered or not)

            def received():
                waiting = s.metric("ember_serve_requests_in_flight", model="slow")
                return waiting, waiting + s.metric("ember_serve_requests_total", model="slow", code="200")
            while received()[1] < 6:
                assert time.monotonic() < deadline, s.output()
                time.sleep(0.01)
            s.proc.send_signal(signal.SIGTERM)   # six batches of one take ~2.4 s: most are still waiting
            assert received()[0] >= 1
            answers = [f.result() for f in futures]
        assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
        assert [r.json()[0] for r in answers] == [0, 2, 4, 6, 8, 10]
        assert s.proc.wait(60) == 0, s.output()
        assert "draining" in s.output()
        with pytest.raises(httpx.ConnectError):
            httpx.get(s.url + "/ping")
    finally:
        s.terminate()
