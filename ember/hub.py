"""``ember.hub``: PyTorch's model hub, for local code and files only. ember never downloads: a
``hubconf.py`` directory is loaded with ``source="local"``, and checkpoints come from file paths
(or files already placed in ``get_dir()/checkpoints``). A GitHub repository or an http(s) URL
raises RuntimeError saying so, with the local way to do the same.

    >>> model = ember.hub.load("path/to/repo", "resnet_tiny", source="local", pretrained=False)
"""
import hashlib
import importlib.util
import os
import shutil
import sys
import urllib.parse

from ember.serialization import load as load_checkpoint

_STATE = {"dir": None}
_NO_DOWNLOAD = ("ember never downloads (it runs without network access by design): {what}. Clone or copy the "
                "code yourself and use source='local' with its directory, or pass a local file path")


def get_dir():
    """Where hub files live: ``set_dir``'s, else ``$EMBER_HOME/hub`` (``$XDG_CACHE_HOME/ember/hub``,
    ``~/.cache/ember/hub``)."""
    if _STATE["dir"] is not None:
        return _STATE["dir"]
    home = os.environ.get("EMBER_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ember")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d):
    _STATE["dir"] = os.path.expanduser(os.fspath(d))


def _hubconf(repo_or_dir, source, what):
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        raise RuntimeError(_NO_DOWNLOAD.format(what=f"{what} would fetch the GitHub repository {repo_or_dir!r}"))
    path = os.path.join(os.fspath(repo_or_dir), "hubconf.py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{repo_or_dir!r} has no hubconf.py (source='local' expects a directory with one)")
    name = "hubconf_" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.abspath(os.fspath(repo_or_dir)))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.abspath(os.fspath(repo_or_dir)))
    missing = [d for d in getattr(module, "dependencies", []) if importlib.util.find_spec(d) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _entrypoint(module, model):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = getattr(module, model, None)
    if fn is None or not callable(fn) or model.startswith("_"):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def list(github, force_reload=False, skip_validation=False, trust_repo=None, verbose=True, source="github"):  # noqa: A001
    """The entrypoints (public callables) of a repository's hubconf.py."""
    module = _hubconf(github, source, "hub.list")
    return sorted(k for k, v in vars(module).items()
                  if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == module.__name__)


def help(github, model, force_reload=False, skip_validation=False, trust_repo=None, source="github"):  # noqa: A001
    """The docstring of one entrypoint."""
    return _entrypoint(_hubconf(github, source, "hub.help"), model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo=None, force_reload=False, verbose=True,
         skip_validation=False, **kwargs):
    """Call entrypoint ``model`` of ``repo_or_dir``'s hubconf.py with ``args``/``kwargs`` (source="local")."""
    return _entrypoint(_hubconf(repo_or_dir, source, "hub.load"), model)(*args, **kwargs)


def _local_path(url):
    """The file a URL or path names when it is local (a path or file:// URL), else None."""
    parsed = urllib.parse.urlparse(os.fspath(url))
    if parsed.scheme == "file":
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme in ("", ) or (len(parsed.scheme) == 1 and os.name == "nt"):
        return os.fspath(url)
    return None


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Copy a local file (path or file:// URL) to ``dst``, checking ``hash_prefix`` (SHA-256) when given."""
    src = _local_path(url)
    if src is None:
        raise RuntimeError(_NO_DOWNLOAD.format(what=f"download_url_to_file would fetch {url!r}"))
    if hash_prefix is not None:
        with open(src, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if not digest.startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    shutil.copyfile(src, dst)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False, file_name=None,
                             weights_only=True):
    """Load a checkpoint named by ``url``: a local path or file:// URL, or a URL whose file is already in
    ``model_dir`` (default ``get_dir()/checkpoints``) under its own (or ``file_name``'s) name."""
    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    local = _local_path(url)
    if local is None:
        cached = os.path.join(model_dir, file_name or os.path.basename(urllib.parse.urlparse(url).path))
        if not os.path.isfile(cached):
            raise RuntimeError(_NO_DOWNLOAD.format(
                what=f"load_state_dict_from_url would fetch {url!r}; place the file at {cached!r}"))
        local = cached
    if check_hash:
        prefix = os.path.basename(local).rsplit(".", 1)[0].rsplit("-", 1)[-1]
        with open(local, "rb") as f:
            if not hashlib.sha256(f.read()).hexdigest().startswith(prefix):
                raise RuntimeError(f"invalid hash value for {local!r} (its name ends in {prefix!r})")
    return load_checkpoint(local, map_location=map_location, weights_only=weights_only)


__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]
