"""The server's Prometheus metrics, on a registry of its own (several servers can live in one process)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("ember_serve_requests", "Inference requests by model, API and HTTP status code",
                                ["model", "api", "code"], registry=r)
        self.latency = Histogram("ember_serve_request_latency_seconds", "Inference request latency, end to end",
                                 ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("ember_serve_requests_in_flight", "Inference requests received and not yet answered",
                               ["model"], registry=r)
        self.queue_depth = Gauge("ember_serve_queue_depth", "Requests waiting for a batch", ["model"], registry=r)
        self.batch_size = Histogram("ember_serve_batch_size", "Rows per batch run by a worker", ["model"],
                                    buckets=BATCH_BUCKETS, registry=r)
        self.load_seconds = Gauge("ember_serve_model_load_seconds",
                                  "Seconds a worker took to load its model and run the warm-up batch",
                                  ["model", "version"], registry=r)
        self.worker_restarts = Counter("ember_serve_worker_restarts", "Workers replaced after they died",
                                       ["model", "version"], registry=r)
        self.workers_ready = Gauge("ember_serve_workers_ready", "Workers loaded and serving",
                                   ["model", "version"], registry=r)

    def render(self):
        return generate_latest(self.registry)
