"""Exceptions raised by the OVH API client, each naming the templated route that failed."""

# errorCode values OVH sends when the credentials themselves are refused.
AUTH_ERROR_CODES = frozenset(
    {"INVALID_CREDENTIAL", "INVALID_KEY", "NOT_CREDENTIAL", "INVALID_SIGNATURE"}
)


class OvhError(Exception):
    """Base of every failure to get an answer from OVH for one route."""

    def __init__(self, route: str, detail: str, *, method: str = "GET") -> None:
        """Keep the route and method, and make `str()` read `METHOD route: detail`."""
        super().__init__(f"{method} {route}: {detail}")
        self.route = route
        self.method = method


class OvhApiError(OvhError):
    """OVH answered with a non-2xx status; the fields come from its JSON error body."""

    def __init__(
        self,
        route: str,
        status: int,
        error_code: str | None = None,
        message: str = "",
        query_id: str | None = None,
        *,
        method: str = "GET",
        retry_after: float | None = None,
    ) -> None:
        """Keep the answer's fields and build the one-line description from them.

        `retry_after` is the wait in seconds the answer's `Retry-After` header asked for.
        """
        detail = f"HTTP {status}"
        if error_code:
            detail += f" {error_code}"
        if message:
            detail += f": {message}"
        if query_id:
            detail += f" (query id {query_id})"
        super().__init__(route, detail, method=method)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.query_id = query_id
        self.retry_after = retry_after

    @property
    def not_found(self) -> bool:
        """Tell whether the object does not exist (HTTP 404)."""
        return self.status == 404

    @property
    def not_granted(self) -> bool:
        """Tell whether the consumer key's access rules do not cover this call."""
        return self.status == 403 and self.error_code == "NOT_GRANTED_CALL"

    @property
    def auth_failed(self) -> bool:
        """Tell whether OVH refused the credentials rather than the call."""
        return self.status == 401 or self.error_code in AUTH_ERROR_CODES

    @property
    def service_expired(self) -> bool:
        """Tell whether the service has expired (HTTP 460, OVH's own status)."""
        return self.status == 460


class OvhTransportError(OvhError):
    """No answer arrived: the request timed out or the connection failed."""

    def __init__(self, route: str, reason: str, *, method: str = "GET") -> None:
        """Keep the reason, which names the kind of failure."""
        super().__init__(route, reason, method=method)
        self.reason = reason


class OvhResponseError(OvhError):
    """An answer arrived but cannot be used: not JSON, not the expected shape, or too large."""

    def __init__(self, route: str, reason: str, *, method: str = "GET") -> None:
        """Keep the reason, which says what was wrong with the answer."""
        super().__init__(route, reason, method=method)
        self.reason = reason


class ReadOnlyError(OvhError):
    """Something tried to send a request that could change the account, and it was stopped."""

    def __init__(self, route: str, *, method: str) -> None:
        """Name the refused method and path."""
        super().__init__(route, "refused: the OVH client is read-only", method=method)


class ManagerSessionError(OvhApiError):
    """The manager refused its session cookies: the session is dead and needs a new login."""

    @classmethod
    def from_refusal(cls, error: OvhApiError) -> "ManagerSessionError":
        """Carry the fields of the manager's refusal over to this kind of error."""
        return cls(
            error.route,
            error.status,
            error.error_code,
            error.message,
            error.query_id,
            method=error.method,
        )
