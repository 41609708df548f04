"""Load: 32 concurrent clients for 10 s against the LeNet-5 archive on loopback. No request may fail, and
dynamic batching must visibly engage. Throughput and latency are printed (run with -s to see them); they are
measured on whatever machine runs the suite, so they are reported, not asserted."""
import asyncio
import json
import time

import httpx
import numpy as np
import pytest
from conftest import Server, sample

CLIENTS, SECONDS = 32, 10.0


async def hammer(url, bodies):
    latencies, errors = [], []
    stop = time.perf_counter() + SECONDS

    async def client(i, http):
        while time.perf_counter() < stop:
            start = time.perf_counter()
            r = await http.post(url, content=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
            if r.status_code == 200 and len(r.json()) == 10:
                latencies.append(time.perf_counter() - start)
            else:
                errors.append((r.status_code, r.text[:200]))

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(client(i, http) for i in range(CLIENTS)))
    return np.array(latencies), errors


@pytest.fixture(scope="module")
def loaded(archives):
    s = Server(archives, ["lenet"], "--max-batch-size", "32", "--max-batch-delay-ms", "20")
    yield s
    s.terminate()


def test_32_clients_for_10_seconds(loaded):
    bodies = [json.dumps(sample(seed).tolist()).encode() for seed in range(8)]
    latencies, errors = asyncio.run(hammer(loaded.url + "/predictions/lenet", bodies))
    batches = loaded.metric("ember_serve_batch_size_count", model="lenet")
    rows = loaded.metric("ember_serve_batch_size_sum", model="lenet")
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(f"\nserve load: {CLIENTS} clients x {SECONDS:g} s, {len(latencies)} requests, {len(errors)} errors, "
          f"{len(latencies) / SECONDS:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"{batches:.0f} batches of {rows / max(batches, 1):.1f} rows on average")
    assert errors == []
    assert len(latencies) >= CLIENTS
    assert rows >= len(latencies) and rows / batches > 1.5   # requests really shared batches
    assert loaded.metric("ember_serve_batch_size_bucket", model="lenet", le="1.0") < batches
