"""Server settings, with safe defaults: loopback only, bounded bodies, queues, JSON and tensors."""
import ipaddress
from dataclasses import dataclass, field


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    management_port: int = 8081
    metrics_port: int = 8082
    workers: int = 1                      # worker processes per model version
    worker_threads: int = 0               # CPU threads per worker; 0: cores // workers, at least 1
    max_batch_size: int = 8               # rows stacked into one batch
    max_batch_delay_ms: float = 5.0       # how long the first request of a batch waits for company
    queue_size: int = 256                 # waiting requests per model version before 503 + Retry-After
    request_timeout_s: float = 30.0       # per request; 504 after it
    load_timeout_s: float = 300.0         # per worker, loading plus the warm-up batch
    max_body_bytes: int = 10 * 1024 * 1024
    max_json_depth: int = 32
    max_tensor_elements: int = 4 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    token: str = ""                       # bearer token of the management API (and of inference off loopback)
    model_store: str = ""                 # folder that management registration may load archives from
    allow_modules: tuple = ("ember",)     # module prefixes archives may name model classes and handlers from
    allow_remote: bool = False            # must be set (with a token) to bind a non-loopback address
    drain_timeout_s: float = 30.0         # SIGTERM: longest wait for in-flight requests
    models: dict = field(default_factory=dict)   # name -> archive path, loaded at start

    def check(self):
        """Refuse settings that would expose the server without meaning to."""
        if not is_loopback(self.host):
            if not self.allow_remote:
                raise ValueError(f"refusing to bind {self.host!r}: binding beyond loopback needs --allow-remote "
                                 "and --token-file")
            if not self.token:
                raise ValueError(f"refusing to bind {self.host!r} without a token (--token-file)")
        ports = [self.port, self.management_port, self.metrics_port]
        if len(set(p for p in ports if p)) != len([p for p in ports if p]):
            raise ValueError(f"inference, management and metrics need separate ports, got {ports}")
        for name in ("workers", "max_batch_size", "queue_size", "max_body_bytes", "max_json_depth",
                     "max_tensor_elements"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_batch_delay_ms < 0 or self.request_timeout_s <= 0:
            raise ValueError("max_batch_delay_ms must be >= 0 and request_timeout_s > 0")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
