"""Every model version the server holds, by name and version, with a default version per name."""
import asyncio
import os
import sys

from ember.serve.archive import ArchiveError, check_name
from ember.serve.errors import ServeError, not_found
from ember.serve.models import ModelVersion


class ModelRegistry:
    def __init__(self, config, metrics):
        self.config, self.metrics = config, metrics
        self.models = {}     # name -> {version -> ModelVersion}
        self.defaults = {}   # name -> version
        self.failed = {}     # name -> why, for models given at startup whose archive could not be read
        self.pending = set() # names given at startup not yet registered (their archive is being read)
        self._watcher = None

    def log(self, message):
        print(f"ember serve: {message}", file=sys.stderr, flush=True)

    # --- lookup ------------------------------------------------------------------------------------------
    def get(self, name, version=None):
        check_name(name)
        if version is not None:
            check_name(version, "model version")
        versions = self.models.get(name)
        if not versions:
            raise not_found(f"model {name!r} is not registered; registered models: {sorted(self.models) or 'none'}")
        version = self.defaults.get(name) if version is None else version
        if version not in versions:
            raise not_found(f"model {name!r} has no version {version!r}; versions: {sorted(versions)}")
        return versions[version]

    def all(self):
        return [v for versions in self.models.values() for v in versions.values()]

    def is_default(self, mv):
        return self.defaults.get(mv.name) == mv.version

    def ready(self):
        return not self.failed and not self.pending and all(mv.ready for mv in self.all())

    # --- changes -----------------------------------------------------------------------------------------
    async def register(self, path, workers=None, max_batch_size=None, max_batch_delay_ms=None,
                       keep_failed=True, name=None):
        """Load the archive at ``path``; a version that fails to load stays listed (FAILED) if ``keep_failed``."""
        loop = asyncio.get_running_loop()
        try:
            mv = await loop.run_in_executor(None, lambda: ModelVersion(
                self, path, workers or self.config.workers, max_batch_size, max_batch_delay_ms, name))
        except (ArchiveError, OSError) as e:
            raise ServeError(400, f"cannot register {os.path.basename(os.fspath(path))!r}: {e}") from None
        finally:
            self.pending.discard(name)
        if mv.version in self.models.get(mv.name, {}):
            raise ServeError(409, f"model {mv.name!r} version {mv.version!r} is already registered")
        self.models.setdefault(mv.name, {})[mv.version] = mv
        self.defaults.setdefault(mv.name, mv.version)
        await mv.load()
        if mv.error and not keep_failed:
            self._remove(mv)
            raise ServeError(500, f"model {mv.name!r} version {mv.version!r} failed to load: {mv.error}")
        return mv

    async def unregister(self, name, version=None):
        mv = self.get(name, version)
        self._remove(mv)
        await mv.stop()
        return mv

    def _remove(self, mv):
        versions = self.models[mv.name]
        del versions[mv.version]
        if not versions:
            del self.models[mv.name]
            del self.defaults[mv.name]
        elif self.defaults[mv.name] == mv.version:
            self.defaults[mv.name] = max(versions)

    def set_default(self, name, version):
        mv = self.get(name, version)
        self.defaults[name] = mv.version
        return mv

    def store_path(self, url):
        """The archive ``url`` names inside the model store; never a path outside it."""
        store = self.config.model_store
        if not store:
            raise ServeError(403, "registration is disabled: the server was started without --model-store")
        if not isinstance(url, str) or not url or "/" in url or "\\" in url or url.startswith(".") or "\0" in url:
            raise ServeError(400, f"url must be the file name of an archive in the model store, got {url!r:.100}")
        root = os.path.realpath(store)
        path = os.path.realpath(os.path.join(root, url))
        if os.path.dirname(path) != root:
            raise ServeError(400, f"url {url!r:.100} resolves outside the model store")
        if not os.path.isfile(path):
            raise not_found(f"no archive {url!r:.100} in the model store")
        return path

    # --- lifetime ----------------------------------------------------------------------------------------
    def start_watching(self, interval=0.2):
        async def watch():
            while True:
                await asyncio.sleep(interval)
                for mv in self.all():
                    await mv.watch()
        self._watcher = asyncio.create_task(watch())

    async def close(self):
        if self._watcher:
            self._watcher.cancel()
        await asyncio.gather(*(mv.stop() for mv in self.all()), return_exceptions=True)
