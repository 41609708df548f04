"""What the three HTTP apps share: JSON errors (never a traceback), bounded bodies, bearer tokens."""
import hmac
import sys
import traceback

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from ember.serve.errors import ServeError


def error_response(status, message, kind=None, headers=None):
    kind = kind or ServeError(status, message).kind
    return JSONResponse({"code": status, "type": kind, "message": message, "error": message}, status_code=status,
                        headers=headers)


def guarded(endpoint):
    """Run ``endpoint``; a ServeError becomes its JSON answer, anything else a JSON 500 (logged here)."""
    async def run(request):
        try:
            return await endpoint(request)
        except ServeError as e:
            return error_response(e.status, e.message, e.kind, e.headers)
        except Exception:  # noqa: BLE001 - the client gets a message, the log gets the traceback
            traceback.print_exc(file=sys.stderr)
            return error_response(500, "internal server error; see the server log")
    run.__name__ = endpoint.__name__
    return run


def make_app(routes):
    async def http_error(request, exc):
        message = {404: f"no such endpoint: {request.method} {request.url.path}",
                   405: f"method {request.method} is not allowed on {request.url.path}"}.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.router.redirect_slashes = False   # a trailing slash is a 404, not a redirect to somewhere else
    return app


async def read_body(request, limit):
    """The request body, refusing (413) more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ServeError(400, "invalid Content-Length header")
        if int(declared) > limit:
            raise ServeError(413, f"request body of {int(declared)} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServeError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_token(request, token):
    """401 without a bearer token, 403 with a wrong one. ``token`` empty means no check."""
    if not token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise ServeError(401, "this API needs 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ServeError(403, "the bearer token is not valid for this server")
