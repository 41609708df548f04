"""Generated kernels: source text written once to a file in the kernel cache and compiled by numba from there.

numba can only cache a function that lives in a source file, so each generated kernel is written to
``<cache_dir>/inductor/k_<hash of its source>.py`` and imported from it; numba's own disk cache then
keys on that file, so a second process (or a second compile of the same graph) loads the machine
code instead of compiling it again. ``STATS`` counts kernels written and reused (the tests read it).
"""
import hashlib
import importlib.util
import os
import sys
import threading

from ember.backend import compiled

STATS = {"written": 0, "reused": 0}
_loaded = {}  # source hash -> compiled.Kernel
_lock = threading.Lock()


def kernel_from_source(source):
    """The lazily compiled numba kernel named ``kernel`` that ``source`` defines (cached by its text)."""
    key = hashlib.sha256(source.encode()).hexdigest()[:24]
    hit = _loaded.get(key)
    if hit is not None:
        STATS["reused"] += 1
        return hit
    with _lock:
        folder = os.path.join(compiled.cache_dir(), "inductor")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"k_{key}.py")
        if not _same_text(path, source):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(source)
            os.replace(tmp, path)  # atomic: a concurrent process sees the whole file or none
            STATS["written"] += 1
        else:
            STATS["reused"] += 1
        name = f"ember_inductor_k_{key}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        kernel = _loaded[key] = compiled.Kernel(module.kernel, {})
    return kernel


def _same_text(path, source):
    try:
        with open(path) as f:
            return f.read() == source
    except OSError:
        return False
