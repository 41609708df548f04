"""The inference API: TorchServe's (``/ping``, ``/predictions``) and the Open Inference Protocol v2."""
import asyncio
import time
from importlib import metadata

from starlette.responses import JSONResponse
from starlette.routing import Route

from ember.serve.errors import ServeError, bad_request
from ember.serve.handlers import check_inputs
from ember.serve.tensors import array_from_json, array_to_json, numpy_dtype, oip_datatype, parse_json
from ember.serve.web import check_token, guarded, make_app, read_body


def server_version():
    try:
        return metadata.version("ember")
    except metadata.PackageNotFoundError:
        return "dev"


def inference_app(registry, metrics, config, token):
    def health():
        report = {f"{mv.name}/{mv.version}": {"status": mv.status, **({"error": mv.error} if mv.error else {})}
                  for mv in registry.all()}
        report.update({name: {"status": "FAILED", "error": why} for name, why in registry.failed.items()})
        report.update({name: {"status": "LOADING"} for name in registry.pending})
        return report

    def lookup(request):
        check_token(request, token)
        p = request.path_params
        return registry.get(p.get("model") or p["name"], p.get("version"))

    async def infer_on(mv, arrays):
        if not mv.ready:
            raise ServeError(503, f"model {mv.name!r} version {mv.version!r} is {mv.status}"
                                  + (f": {mv.error}" if mv.error else "; retry shortly"),
                             headers={} if mv.error else {"Retry-After": "1"})
        future = mv.batcher.submit(arrays)
        try:
            return await asyncio.wait_for(future, config.request_timeout_s)
        except asyncio.TimeoutError:
            raise ServeError(504, f"model {mv.name!r} did not answer within {config.request_timeout_s:g} s") from None

    def counted(api, endpoint):
        """Count the request by model (registered names only, so label values stay bounded) and code."""
        async def run(request):
            start = time.perf_counter()
            p = request.path_params
            name = p.get("model") or p.get("name")
            label = name if name in registry.models else "_unknown"
            metrics.in_flight.labels(label).inc()
            try:
                response = await guarded(endpoint)(request)
            finally:
                metrics.in_flight.labels(label).dec()
            metrics.requests.labels(label, api, str(response.status_code)).inc()
            if response.status_code == 200:
                metrics.latency.labels(label).observe(time.perf_counter() - start)
            return response
        run.__name__ = endpoint.__name__
        return run

    # --- TorchServe ------------------------------------------------------------------------------------
    async def ping(request):
        healthy = registry.ready()
        return JSONResponse({"status": "Healthy" if healthy else "Unhealthy", "models": health()},
                            status_code=200 if healthy else 503)

    async def predictions(request):
        mv = lookup(request)
        body = await read_body(request, config.max_body_bytes)
        answer = await mv.handler.predict(body, request.headers.get("content-type", ""),
                                          lambda arrays: infer_on(mv, arrays))
        return JSONResponse(answer)

    # --- Open Inference Protocol v2 --------------------------------------------------------------------
    async def v2_server(request):
        return JSONResponse({"name": "ember", "version": server_version(), "extensions": []})

    async def live(request):
        return JSONResponse({"live": True})

    async def ready(request):
        ok = registry.ready()
        return JSONResponse({"ready": ok, "models": health()}, status_code=200 if ok else 503)

    async def model_metadata(request):
        mv = lookup(request)
        m = mv.manifest
        tensor = lambda s: {"name": s["name"], "datatype": oip_datatype(s["datatype"]),
                            "shape": [-1] + [-1 if d is None else d for d in s["shape"]]}
        versions = sorted(registry.models[mv.name])
        return JSONResponse({"name": mv.name, "versions": versions, "platform": "ember",
                             "inputs": [tensor(s) for s in m["inputs"]], "outputs": [tensor(s) for s in m["outputs"]]})

    async def model_ready(request):
        mv = lookup(request)
        return JSONResponse({"name": mv.name, "version": mv.version, "ready": mv.ready, "status": mv.status},
                            status_code=200 if mv.ready else 503)

    async def v2_infer(request):
        mv = lookup(request)
        obj = parse_json(await read_body(request, config.max_body_bytes), config.max_json_depth)
        arrays = decode_v2_inputs(obj, mv.manifest["inputs"], config.max_tensor_elements)
        outputs = await infer_on(mv, arrays)
        names = [s["name"] for s in mv.manifest["outputs"]]
        names = names if len(names) == len(outputs) else [f"output{i}" for i in range(len(outputs))]
        wanted = {o.get("name") for o in obj.get("outputs") or [] if isinstance(o, dict)}
        unknown = wanted - set(names)
        if unknown:
            raise bad_request(f"requested outputs {sorted(unknown)} do not exist; outputs are {names}")
        answer = {"model_name": mv.name, "model_version": mv.version,
                  "outputs": [array_to_json(o, n) for n, o in zip(names, outputs) if not wanted or n in wanted]}
        if "id" in obj:
            answer["id"] = obj["id"]
        return JSONResponse(answer)

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/predictions/{model}", counted("torchserve", predictions), methods=["POST", "PUT"]),
        Route("/predictions/{model}/{version}", counted("torchserve", predictions), methods=["POST", "PUT"]),
        Route("/v2", v2_server, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2/models/{name}", guarded(model_metadata), methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", guarded(model_metadata), methods=["GET"]),
        Route("/v2/models/{name}/ready", guarded(model_ready), methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", guarded(model_ready), methods=["GET"]),
        Route("/v2/models/{name}/infer", counted("v2", v2_infer), methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", counted("v2", v2_infer), methods=["POST"]),
    ]
    return make_app(routes)


def decode_v2_inputs(obj, specs, max_elements):
    """The request's input tensors in the model's input order, checked against its schema."""
    if not isinstance(obj, dict) or not isinstance(obj.get("inputs"), list) or not obj["inputs"]:
        raise bad_request("inference request needs 'inputs': a non-empty list of tensors")
    given = {}
    for i, t in enumerate(obj["inputs"]):
        if not isinstance(t, dict) or not {"name", "shape", "datatype", "data"} <= t.keys():
            raise bad_request(f"inputs[{i}] needs name, shape, datatype and data")
        given[t["name"]] = t
    if len(specs) == 1 and len(given) == 1:
        given = {specs[0]["name"]: next(iter(given.values()))}
    missing = [s["name"] for s in specs if s["name"] not in given]
    if missing or len(given) != len(specs):
        raise bad_request(f"model inputs are {[s['name'] for s in specs]}, the request has {sorted(given)}")
    arrays = []
    for s in specs:
        t = given[s["name"]]
        where = f"input {s['name']!r}"
        dtype = numpy_dtype(t["datatype"], where)
        if dtype != numpy_dtype(s["datatype"]):
            raise bad_request(f"{where}: datatype {t['datatype']} does not match the model's "
                              f"{oip_datatype(s['datatype'])}")
        arrays.append(array_from_json(t["data"], dtype, max_elements, shape=t["shape"], where=where))
    check_inputs(arrays, specs)
    return arrays
