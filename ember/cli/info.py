"""``ember info``: what this installation is made of: versions, threads, devices and optional parts.

Optional parts are looked up without importing them (``importlib.util.find_spec``), so the report is
fast and never fails because an optional library is broken.
"""
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys

from ember.backend import compiled, cuda_is_available
from ember.backend.threads import get_num_threads
from ember.cuda import device_count
from ember.version import __version__

HELP = "show versions, threads, devices and which optional parts are installed"

REQUIRED = ("numpy", "scipy", "ml_dtypes", "threadpoolctl", "tqdm", "numba")
# optional part -> the modules it needs
OPTIONAL = {
    "cuda": ("cupy",), "onnx": ("onnx", "onnxruntime"),
    "serve": ("starlette", "uvicorn", "prometheus_client"), "distributed": ("mpi4py",),
    "vision": ("PIL",), "plot": ("matplotlib",), "tensorboard": ("tensorboard",),
}
_DISTRIBUTION = {"PIL": "pillow", "cupy": "cupy-cuda12x", "prometheus_client": "prometheus-client"}


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _version(module):
    """The installed version of the distribution that provides ``module``, or None when it is missing."""
    if importlib.util.find_spec(module) is None:
        return None
    for dist in (_DISTRIBUTION.get(module, module), module):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "installed"


def blas_libraries():
    """The BLAS libraries NumPy and SciPy loaded, with the CPU kernels each picked: ember's GEMMs run there.
    An environment that pins OpenBLAS's kernels (``OPENBLAS_CORETYPE=Haswell`` on a CPU with AVX-512)
    halves them (benchmarks/README.md, stop 24), so the setting is shown with them."""
    from threadpoolctl import threadpool_info  # inspects every loaded library: on demand only
    found = [{"library": i.get("internal_api"), "version": i.get("version"), "kernels": i.get("architecture"),
              "threads": i.get("num_threads")} for i in threadpool_info() if i.get("user_api") == "blas"]
    return {"libraries": found, "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def report():
    """The facts ``ember info`` prints, as a dict."""
    cuda = cuda_is_available()
    return {
        "ember": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "dependencies": {name: _version(name) for name in REQUIRED},
        "threads": get_num_threads(),
        "kernels": {"on": compiled.switched_on(), "cache": compiled.cache_dir()},
        "blas": blas_libraries(),
        "devices": ["cpu"] + [f"cuda:{i}" for i in range(device_count() if cuda else 0)],
        "optional": {extra: {m: _version(m) for m in modules} for extra, modules in OPTIONAL.items()},
    }


def run(args):
    facts = report()
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"ember {facts['ember']}")
    print(f"python {facts['python']}")
    print(f"platform {facts['platform']}")
    print(f"threads {facts['threads']}")
    kernels = facts["kernels"]
    print(f"compiled kernels {'on' if kernels['on'] else 'off (EMBER_KERNELS=0)'}, cache {kernels['cache']}")
    blas = facts["blas"]
    for lib in blas["libraries"]:
        print(f"blas {lib['library']} {lib['version']}, {lib['kernels']} kernels, {lib['threads']} threads")
    if blas["OPENBLAS_CORETYPE"]:
        print(f"  OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE']} is set: OpenBLAS runs those kernels whatever the CPU")
    print(f"devices {', '.join(facts['devices'])}")
    print("dependencies")
    for name, version in facts["dependencies"].items():
        print(f"  {name:<16} {version or 'MISSING'}")
    print("optional parts")
    for extra, modules in facts["optional"].items():
        state = "yes" if all(modules.values()) else "no"
        detail = ", ".join(f"{m} {v or '-'}" for m, v in modules.items())
        print(f"  {extra:<16} {state:<4} {detail}")
    return 0
