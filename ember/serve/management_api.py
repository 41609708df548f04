"""The management API (TorchServe's paths), on its own port and always behind a bearer token.

``GET /models`` lists, ``GET /models/{name}[/{version}]`` describes, ``POST /models?url=FILE`` registers an
archive from the model store (a file name, never a path or URL), ``PUT /models/{name}[/{version}]?min_worker=N``
scales, ``PUT /models/{name}/{version}/set-default`` sets the default version, ``DELETE`` unregisters.
"""
from starlette.responses import JSONResponse
from starlette.routing import Route

from ember.serve.errors import ServeError, bad_request
from ember.serve.web import check_token, guarded, make_app

MAX_WORKERS = 64


def int_param(request, name, default=None, low=1, high=None):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= (high or int(raw)):
        raise bad_request(f"query parameter {name} must be an integer in [{low}, {high or 'inf'}], got {raw!r:.40}")
    return int(raw)


def management_app(registry, config, token):
    if not token:
        raise ValueError("the management API needs a token")

    def authorized(endpoint):
        async def run(request):
            check_token(request, token)
            return await endpoint(request)
        run.__name__ = endpoint.__name__
        return guarded(run)

    async def list_models(request):
        return JSONResponse({"models": [{"modelName": name, "modelUrl": registry.get(name).describe()["modelUrl"]}
                                        for name in sorted(registry.models)]})

    async def describe(request):
        p = request.path_params
        if p.get("version") in (None, "all"):
            registry.get(p["name"])
            return JSONResponse([mv.describe() for _, mv in sorted(registry.models[p["name"]].items())])
        return JSONResponse([registry.get(p["name"], p["version"]).describe()])

    async def register(request):
        path = registry.store_path(request.query_params.get("url"))
        workers = int_param(request, "initial_workers", config.workers, 1, MAX_WORKERS)
        batch = int_param(request, "batch_size", None, 1, 4096)
        delay = int_param(request, "max_batch_delay", None, 0, 60_000)
        mv = await registry.register(path, workers, batch, delay, keep_failed=False)
        return JSONResponse({"status": f'Model "{mv.name}" Version: {mv.version} registered with '
                                       f"{len(mv.slots)} initial workers"})

    async def scale(request):
        p = request.path_params
        mv = registry.get(p["name"], p.get("version"))
        n = int_param(request, "min_worker", None, 1, MAX_WORKERS)
        if n is None:
            raise bad_request("scaling needs the query parameter min_worker")
        if not mv.ready:
            raise ServeError(409, f"model {mv.name!r} version {mv.version!r} is {mv.status} and cannot be scaled")
        try:
            await mv.scale(n)
        except (RuntimeError, OSError) as e:
            raise ServeError(500, f"model {mv.name!r} version {mv.version!r} could not start a worker: {e}") from None
        return JSONResponse({"status": f"Model \"{mv.name}\" Version: {mv.version} scaled to {n} workers"})

    async def set_default(request):
        p = request.path_params
        mv = registry.set_default(p["name"], p["version"])
        return JSONResponse({"status": f'Default version of model "{mv.name}" is now {mv.version}'})

    async def unregister(request):
        p = request.path_params
        mv = await registry.unregister(p["name"], p.get("version"))
        return JSONResponse({"status": f'Model "{mv.name}" Version: {mv.version} unregistered'})

    routes = [
        Route("/models", authorized(list_models), methods=["GET"]),
        Route("/models", authorized(register), methods=["POST"]),
        Route("/models/{name}", authorized(describe), methods=["GET"]),
        Route("/models/{name}", authorized(scale), methods=["PUT"]),
        Route("/models/{name}", authorized(unregister), methods=["DELETE"]),
        Route("/models/{name}/{version}", authorized(describe), methods=["GET"]),
        Route("/models/{name}/{version}", authorized(scale), methods=["PUT"]),
        Route("/models/{name}/{version}", authorized(unregister), methods=["DELETE"]),
        Route("/models/{name}/{version}/set-default", authorized(set_default), methods=["PUT"]),
    ]
    return make_app(routes)
