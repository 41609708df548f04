"""Compile, cache and load C/C++ extensions through cffi (API mode)."""
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import types

from ember.utils.cpp_extension.tensor_struct import CDEF, HEADER, fill

_DEFINITION = r"(?:^|\n)[ \t]*(?:extern[ \t]+\"C\"[ \t]+)?(?P<ret>[A-Za-z_][\w \t\*]*?[\s\*])(?P<name>{name})" \
              r"[ \t]*\((?P<params>[^)]*)\)\s*\{{"
_TENSOR_PARAM = re.compile(r"ember_tensor\s*\*")


def get_default_build_root():
    """``$EMBER_EXTENSIONS_DIR``, else ``$XDG_CACHE_HOME/ember_extensions`` (``~/.cache/...``)."""
    root = os.environ.get("EMBER_EXTENSIONS_DIR")
    if root:
        return os.path.abspath(os.path.expanduser(root))
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ember_extensions")


def load_inline(name, cpp_sources, cuda_sources=None, functions=None, extra_cflags=None, extra_cuda_cflags=None,
                extra_ldflags=None, extra_include_paths=None, build_directory=None, verbose=False, with_cuda=None,
                is_python_module=True, with_pytorch_error_handling=True, keep_intermediates=True,
                use_pch=False, *, language=None):
    """Compile ``cpp_sources`` (a string or list of strings; C++ unless ``language="c"``) and return
    a module with ``functions`` (names, or a dict name -> docstring; None: every non-static function
    defined at the start of a line).

    >>> ext = load_inline("twice", "void twice(ember_tensor *x) { float *p = (float *)x->data; "
    ...                   "for (int64_t i = 0; i < x->shape[0]; i++) p[i] *= 2; }", functions=["twice"])
    """
    _no_cuda(with_cuda or cuda_sources)
    sources = [cpp_sources] if isinstance(cpp_sources, str) else list(cpp_sources)
    return _build(name, [(f"{name}_inline_{i}", s) for i, s in enumerate(sources)], functions, extra_cflags,
                  extra_ldflags, extra_include_paths, build_directory, verbose, language or "c++")


def load(name, sources, extra_cflags=None, extra_cuda_cflags=None, extra_ldflags=None, extra_include_paths=None,
         build_directory=None, verbose=False, with_cuda=None, is_python_module=True, is_standalone=False,
         keep_intermediates=True, *, functions=None, language=None):
    """Compile the source files ``sources`` (``.c``: C, else C++) into one module (see ``load_inline``)."""
    sources = [sources] if isinstance(sources, str) else list(sources)
    _no_cuda(with_cuda or any(str(s).endswith(".cu") for s in sources))
    files = []
    for path in sources:
        with open(path) as f:
            files.append((os.path.abspath(path), f.read()))
    if language is None:
        language = "c" if all(str(s).endswith(".c") for s in sources) else "c++"
    return _build(name, files, functions, extra_cflags, extra_ldflags, extra_include_paths, build_directory,
                  verbose, language)


def _no_cuda(asked):
    if asked:
        raise RuntimeError("ember.utils.cpp_extension: CUDA extensions are not supported (ember has no CUDA "
                           "extension toolchain); compile CPU C/C++ code, or write GPU kernels with CuPy")


def _build(name, files, functions, cflags, ldflags, include_paths, build_directory, verbose, language):
    import cffi  # optional dependency: the `cpp` extra

    if not name.isidentifier():
        raise ValueError(f"extension name {name!r} must be a Python identifier")
    text = "".join(f'#line 1 "{path}"\n{source}\n' for path, source in files)
    declarations = _declarations(name, "\n".join(s for _, s in files), functions)
    cflags, ldflags, include_paths = list(cflags or []), list(ldflags or []), list(include_paths or [])
    key = hashlib.sha256(repr((text, declarations, cflags, ldflags, include_paths, language, HEADER, cffi.__version__,
                               sys.version, sysconfig.get_platform())).encode()).hexdigest()[:16]
    module_name = f"_ember_ext_{name}_{key}"
    directory = os.path.abspath(build_directory) if build_directory else os.path.join(get_default_build_root(),
                                                                                        f"{name}_{key}")
    os.makedirs(directory, exist_ok=True)
    built = _find_built(directory, module_name)
    if built is None:
        built = _compile(cffi, name, module_name, directory, text, declarations, cflags, ldflags, include_paths,
                         verbose, language)
    elif verbose:
        print(f"ember.utils.cpp_extension: using the cached build of {name} in {directory}")
    return _module(name, module_name, built, declarations, functions)


def _declarations(name, source, functions):
    """``[(name, C prototype, tensor-parameter positions)]`` of the exported functions, read off the source."""
    names = list(functions) if functions is not None else [
        m.group("name") for m in re.finditer(_DEFINITION.format(name=r"[A-Za-z_]\w*"), source)
        if not m.group(0).lstrip("\n")[:1].isspace()  # top-level definitions only (not methods, not nested)
        and "static" not in m.group("ret") and m.group("name") not in ("if", "for", "while", "switch", "return")]
    found = []
    for fn in names:
        m = re.search(_DEFINITION.format(name=re.escape(fn)), source)
        if m is None:
            raise ValueError(f"extension {name}: no definition of function {fn!r} found in the sources "
                             "(write it as 'ret name(params) {' at the start of a line)")
        params = m.group("params").strip()
        pieces = [] if params in ("", "void") else [p.strip() for p in params.split(",")]
        tensors = [i for i, p in enumerate(pieces) if _TENSOR_PARAM.search(p)]
        ret = m.group("ret").replace('extern "C"', "").strip()
        found.append((fn, f"{ret} {fn}({params or 'void'});", tensors))
    if not found:
        raise ValueError(f"extension {name}: no functions to export")
    return found


def _find_built(directory, module_name):
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    path = os.path.join(directory, module_name + suffix)
    return path if os.path.exists(path) else None


def _compile(cffi, name, module_name, directory, text, declarations, cflags, ldflags, include_paths, verbose,
             language):
    ext = ".cpp" if language == "c++" else ".c"
    source_path = os.path.join(directory, f"{name}_sources{ext}")
    with open(source_path, "w") as f:
        f.write(HEADER + text)
    ffi = cffi.FFI()
    ffi.cdef(CDEF + "\n".join(proto for _, proto, _ in declarations))
    # the sources themselves come first in the generated module, so cffi's wrappers see their definitions
    ffi.set_source(module_name, f'#include "{os.path.basename(source_path)}"\n',
                   include_dirs=[directory, *include_paths], extra_compile_args=cflags, extra_link_args=ldflags,
                   source_extension=ext)
    _check_syntax(name, source_path, language, cflags, include_paths)
    try:
        return ffi.compile(tmpdir=directory, verbose=verbose)
    except (cffi.VerificationError, OSError) as e:
        raise RuntimeError(f"Error building extension '{name}': {type(e).__name__}: {e}") from None


def _check_syntax(name, source_path, language, cflags, include_paths):
    """Compile the user's source alone first (syntax only) with its stderr captured, so an error in it
    is reported as the compiler's ``file:line: error:`` lines."""
    compiler = os.environ.get("CXX" if language == "c++" else "CC") or (
        shutil.which("g++" if language == "c++" else "gcc") or shutil.which("c++" if language == "c++" else "cc"))
    if compiler is None:
        raise RuntimeError(f"Error building extension '{name}': no C/C++ compiler found (install gcc/g++ or set "
                           "CC/CXX)")
    run = subprocess.run([compiler, "-fsyntax-only", *cflags, *(f"-I{p}" for p in include_paths), source_path],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        lines = "\n".join(line for line in run.stderr.splitlines() if line.strip())
        raise RuntimeError(f"Error building extension '{name}':\n{lines}")


def _module(name, module_name, path, declarations, functions):
    spec = importlib.util.spec_from_file_location(module_name, path)
    compiled = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compiled)
    module = types.ModuleType(name, f"ember C extension {name!r} ({path})")
    module.__file__, module.ffi, module.lib = path, compiled.ffi, compiled.lib
    docs = functions if isinstance(functions, dict) else {}
    for fn, proto, tensors in declarations:
        wrapper = _wrapper(compiled.ffi, getattr(compiled.lib, fn), fn, proto, tensors)
        wrapper.__doc__ = docs.get(fn) or proto
        setattr(module, fn, wrapper)
    return module


def _wrapper(ffi, c_function, fn, proto, tensors):
    tensor_positions = set(tensors)

    def call(*args):
        keep, converted = [], []
        for i, a in enumerate(args):
            if i in tensor_positions:
                struct, owned = fill(ffi, a, f"{fn}() argument {i}")
                keep.append(owned)
                converted.append(struct)
            else:
                converted.append(ffi.NULL if a is None else a)
        try:
            return c_function(*converted)
        except TypeError as e:
            raise TypeError(f"{fn}(): {e} (C signature: {proto})") from None
    call.__name__ = fn
    return call
