"""``ember.utils.cpp_extension``: compile C or C++ functions and call them on ember tensors.

``load_inline(name, cpp_sources, functions=...)`` and ``load(name, sources)`` compile with the
system compiler through cffi's API mode and return a module whose functions accept ember tensors,
Python numbers and ``None``. API mode (``FFI.set_source(...).compile()``) rather than ABI mode
(``dlopen`` of a library we link ourselves): cffi then checks our declarations against the
compiled code, calls go through generated C wrappers (faster than libffi), and the compiler,
flags and platform suffixes come from Python's own build configuration.

A tensor argument arrives in C as a pointer to this struct (``#include``-free: it is prepended to
your source, with ``EMBER_FLOAT32``... dtype codes)::

    typedef struct {
        void *data;              /* the first element */
        int64_t ndim;
        const int64_t *shape;    /* ndim sizes */
        const int64_t *strides;  /* ndim strides, in elements (not bytes) */
        int32_t dtype;           /* EMBER_FLOAT32, EMBER_FLOAT64, EMBER_INT64, ... */
    } ember_tensor;

    void scale(ember_tensor *out, const ember_tensor *x, double k) { ... }

The C function writes into tensors it is given (allocate outputs in Python, e.g. ``ember.empty_like``);
only CPU tensors can be passed. Builds are cached in ``$EMBER_EXTENSIONS_DIR`` (default
``~/.cache/ember_extensions``), keyed by a hash of the sources, flags and toolchain, so a second
``load`` of the same code is an import. A compiler error raises RuntimeError with the compiler's
``file:line: error: ...`` lines.
"""
from ember.utils.cpp_extension.build import get_default_build_root, load, load_inline
from ember.utils.cpp_extension.tensor_struct import DTYPE_CODES, HEADER

__all__ = ["DTYPE_CODES", "HEADER", "get_default_build_root", "load", "load_inline"]
