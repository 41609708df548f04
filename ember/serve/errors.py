"""The one exception type request handling raises: an HTTP status, a kind and a message for the client."""


class ServeError(Exception):
    """A failure the client should see as ``status`` with a JSON body naming ``kind`` and ``message``."""

    def __init__(self, status, message, kind=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                             405: "MethodNotAllowed", 409: "Conflict", 413: "PayloadTooLarge",
                             415: "UnsupportedMediaType", 500: "InternalServerError",
                             503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "Error")
        self.headers = headers or {}


def bad_request(message):
    return ServeError(400, message)


def not_found(message):
    return ServeError(404, message)
