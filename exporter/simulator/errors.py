"""The error answers of the simulated account, in the JSON shapes OVH uses."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An answer other than success, raised by a check or handler and rendered by the middleware."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        """Keep the status, JSON body and extra headers of the answer."""
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """Render the answer."""
        return web.json_response(self.body, status=self.status, headers=self.headers)


def coded_error(status: int, error_code: str, message: str) -> ApiError:
    """Build an error in the shape of OVH's authentication layer: errorCode, httpCode, message."""
    http_code = f"{status} {HTTPStatus(status).phrase}"
    return ApiError(status, {"errorCode": error_code, "httpCode": http_code, "message": message})


def class_error(status: int, error_class: str, message: str) -> ApiError:
    """Build an error in the shape of OVH's API layer: an exception class and a message."""
    return ApiError(status, {"class": error_class, "message": message})


def not_found(message: str) -> ApiError:
    """Build OVH's 404 for an object that does not exist."""
    return class_error(404, "Client::NotFound", message)


def bad_request(message: str) -> ApiError:
    """Build OVH's 400 for a missing or invalid parameter."""
    return class_error(400, "Client::BadRequest", message)


def oauth2_error(status: int, error: str, description: str) -> ApiError:
    """Build an RFC 6749 error answer for the token route."""
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    return ApiError(status, {"error": error, "error_description": description}, headers)
