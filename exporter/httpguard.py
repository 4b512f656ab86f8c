"""Bounds on what a client may send to the exporter's HTTP server, and quiet refusals."""

import logging
from typing import Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

# Prometheus sends a short GET with a few headers and no body; anything larger is
# refused with a 4xx before a handler runs.
MAX_BODY_BYTES: Final = 1024
REQUEST_LIMITS: Final = {
    "max_line_size": 4096,  # the request line, so the URL too
    "max_field_size": 4096,  # one header line
    "max_headers": 64,
    # An idle keep-alive connection holds a file descriptor; Prometheus reconnects cheaply.
    "keepalive_timeout": 75.0,
}


@web.middleware
async def bounded_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read any body up to MAX_BODY_BYTES, so a larger one gets 413 rather than being ignored."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        # Refused at once: waiting for the bytes would let a client hold the handler open.
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_BYTES, actual_size=declared)
    if request.body_exists:
        await request.read()
    return await handler(request)


class ClientErrorFilter(logging.Filter):
    """Turns aiohttp's traceback for a malformed request into one debug line without its bytes.

    aiohttp logs such requests at error level with an excerpt of the offending line,
    which may be part of a client's Authorization header; anyone who can connect
    could also fill the log with them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Let other records through; rewrite the client's errors, or drop them below debug."""
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.msg, record.args, record.exc_info, record.exc_text = (
            "bad request refused",
            (),
            None,
            None,
        )
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.remote = remote
        record.status = error.code
        record.error = type(error).__name__
        return True


CLIENT_ERROR_FILTER: Final = ClientErrorFilter()


def quiet_client_errors() -> None:
    """Install the filter on aiohttp's server logger (once, however often it is called)."""
    logging.getLogger("aiohttp.server").addFilter(CLIENT_ERROR_FILTER)
