"""The only way to reach OVH: async GETs with bounded concurrency, read-only by construction."""

import asyncio
import json
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import quote

import httpx

from exporter.ovh.access import AccessGuard
from exporter.ovh.auth import (
    TOKEN_REQUEST_FORM,
    AccessToken,
    ApplicationKey,
    Credentials,
    ManagerSession,
    OAuth2ClientCredentials,
    ServerTimeDelta,
    TokenCache,
    parse_token,
    signed_headers,
)
from exporter.ovh.budget import RequestBudget
from exporter.ovh.errors import (
    ManagerSessionError,
    OvhApiError,
    OvhError,
    OvhResponseError,
    OvhTransportError,
    ReadOnlyError,
)
from exporter.ovh.managers import is_dead_session
from exporter.ovh.retry import RetryPolicy, parse_retry_after, with_retries
from exporter.ovh.transport import AiohttpTransport

RequestObserver = Callable[[str, str], None]

# Route labels for the two exchanges that are not API routes of their own.
TIME_ROUTE = "/auth/time"
# A metric label, not a credential (ruff S105, bandit B105).
TOKEN_ROUTE = "oauth2_token"  # noqa: S105  # nosec

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Answers that mean OVH disagrees with our clock, so a fresh delta can fix them.
_CLOCK_ERROR_STATUSES = frozenset({400, 401, 403})
_CLOCK_ERROR_CODES = frozenset({"INVALID_SIGNATURE", "QUERY_TIME_OUT"})
_CLOCK_ERROR_WORDS = ("timestamp", "out of time")

_EXCERPT_CHARS = 120

_E = TypeVar("_E", bound=OvhError)


@dataclass(frozen=True)
class ObjectList:
    """The objects a list route gave, and the ids whose own GET failed."""

    objects: list[Any]
    failed: dict[str, OvhError]


@dataclass(frozen=True)
class _Answer:
    """A decoded 2xx answer and its headers."""

    data: Any
    headers: httpx.Headers


class _ReadOnlyTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and refuses, before sending, anything but GET and the token POST."""

    def __init__(self, inner: httpx.AsyncBaseTransport, token_url: str | None) -> None:
        """Wrap `inner`; a POST is let through only to exactly `token_url`."""
        self._inner = inner
        self._token_url = None if token_url is None else httpx.URL(token_url)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on if it cannot change anything, raise `ReadOnlyError` otherwise."""
        is_token_post = request.method == "POST" and request.url == self._token_url
        if request.method != "GET" and not is_token_post:
            raise ReadOnlyError(request.url.path, method=request.method)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


@dataclass(frozen=True)
class _Authorization:
    """The headers for one request, and how to recover if OVH refuses them."""

    headers: dict[str, str] = field(repr=False)
    # Returns True when it changed something that makes one retry worth sending.
    renew: Callable[[OvhApiError], Awaitable[bool]] = field(repr=False)


class _Authenticator(Protocol):
    """Produces the authorization for one GET."""

    async def authorize(self, url: str) -> _Authorization:
        """Return the headers for a GET of `url`, and their recovery."""
        ...


class _SignedRequests:
    """Application-key authentication: every request signed with OVH's time."""

    def __init__(self, key: ApplicationKey, delta: ServerTimeDelta) -> None:
        """Sign with `key`, timestamps from `delta`."""
        self._key = key
        self._delta = delta

    async def authorize(self, url: str) -> _Authorization:
        """Sign a GET of `url`; a clock complaint from OVH re-reads the delta."""
        timestamp, generation = await self._delta.timestamp()

        async def renew(error: OvhApiError) -> bool:
            """Re-read the delta if OVH refused the timestamp."""
            if not _is_clock_error(error):
                return False
            await self._delta.refresh(generation)
            return True

        return _Authorization(signed_headers(self._key, "GET", url, timestamp), renew)


class _BearerRequests:
    """OAuth2 authentication: a cached bearer token, replaced when OVH answers 401."""

    def __init__(self, tokens: TokenCache) -> None:
        """Take tokens from `tokens`."""
        self._tokens = tokens

    async def authorize(self, url: str) -> _Authorization:
        """Attach the current token; a 401 drops it so the retry fetches another."""
        token = await self._tokens.get()

        async def renew(error: OvhApiError) -> bool:
            """Drop the token if OVH refused it."""
            if error.status != 401:
                return False
            self._tokens.discard(token)
            return True

        headers = {"Authorization": f"Bearer {token.value.get_secret_value()}"}
        return _Authorization(headers, renew)


class _SessionCookie:
    """Manager session authentication: the session cookies on every request, nothing signed."""

    def __init__(self, session: ManagerSession) -> None:
        """Send `session`'s cookies."""
        self._session = session

    async def authorize(self, url: str) -> _Authorization:
        """Attach the cookies; a session cannot be renewed from here, so a dead one is final."""

        async def renew(error: OvhApiError) -> bool:
            """Raise a refusal of the session as `ManagerSessionError`; never retry."""
            if is_dead_session(error):
                raise ManagerSessionError.from_refusal(error) from None
            return False

        return _Authorization({"Cookie": self._session.cookie.get_secret_value()}, renew)


class OvhClient:
    """Async, read-only client of the OVH API v1 for one account."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials | ManagerSession,
        *,
        timeout: float = 10.0,
        max_concurrency: int = 8,
        observer: RequestObserver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_body_bytes: int = 16 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
        budget: RequestBudget | None = None,
        retry: RetryPolicy | None = None,
        access: AccessGuard | None = None,
    ) -> None:
        """Prepare the client for `endpoint`, a resolved base URL; nothing is sent yet.

        Every request waits for `budget` (none: no limit), failures that may pass are
        sent again by `retry`, and `access` holds requests back after a credential refusal.
        """
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.access = access or AccessGuard()
        self._endpoint = endpoint.rstrip("/")
        self._observer = observer
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        self._semaphore = asyncio.Semaphore(max_concurrency)
        # List routes that answered ids to the expansion headers: not asked again.
        self._unexpanded: set[str] = set()

        # Outlives a change of credentials: OVH's clock does not move with a new key.
        self._delta = ServerTimeDelta(self.server_time, clock)
        self._credentials = credentials
        self._auth = self._authenticator(credentials)
        token_url = _token_url(credentials)
        self._http = httpx.AsyncClient(
            transport=_ReadOnlyTransport(transport or AiohttpTransport(max_concurrency), token_url),
            timeout=httpx.Timeout(timeout),
        )

    @property
    def credentials(self) -> Credentials | ManagerSession:
        """The credentials the client sends from now on."""
        return self._credentials

    def replace_credentials(self, credentials: Credentials | ManagerSession) -> None:
        """Send `credentials` (a rotated key, of the same kind) from the next request on.

        A cached OAuth2 token is dropped, as it belongs to the old secret; the delta to
        OVH's clock is kept. Requests already sent finish with the old credentials.
        """
        if type(credentials) is not type(self._credentials):
            raise ValueError(
                f"expected {type(self._credentials).__name__}, got {type(credentials).__name__}"
            )
        if _token_url(credentials) != _token_url(self._credentials):
            # The transport lets a POST through to one token URL only, set at creation.
            raise ValueError("the OAuth2 token URL cannot change while the client runs")
        self._credentials = credentials
        self._auth = self._authenticator(credentials)

    async def get(
        self, route: str, *, params: Mapping[str, str] | None = None, **path: str | int
    ) -> Any:
        """GET `route` with its placeholders filled from `path` and return the parsed JSON."""
        answer = await self._api_get(route, self._url(route, path, params))
        return answer.data

    async def get_objects(
        self,
        route: str,
        *,
        item_route: str,
        params: Mapping[str, str] | None = None,
        page_size: int = 500,
        **path: str | int,
    ) -> ObjectList:
        """Return every object of a list route, expanded by OVH or fetched one id at a time."""
        url = self._url(route, path, params)
        if route in self._unexpanded:
            ids = _as_list(route, (await self._api_get(route, url)).data)
        else:
            pages = self._expanded_pages(route, url, page_size)
            items = [item async for page in pages for item in page]
            if not _are_ids(items):
                return ObjectList(items, {})
            self._unexpanded.add(route)
            ids = items
        return await self._get_each(item_route, ids, path)

    async def object_pages(
        self,
        route: str,
        *,
        item_route: str,
        params: Mapping[str, str] | None = None,
        page_size: int = 500,
        **path: str | int,
    ) -> AsyncIterator[ObjectList]:
        """Yield what `get_objects` returns a page at a time, the next page read only when asked.

        A caller that parses each page before asking for the next holds one page
        of decoded JSON instead of the whole list (at 10,000 VPS, `/services` is
        about 45 MB decoded). A route that answers ids gives one `ObjectList`.
        """
        url = self._url(route, path, params)
        if route in self._unexpanded:
            ids = _as_list(route, (await self._api_get(route, url)).data)
            yield await self._get_each(item_route, ids, path)
            return
        first = True
        async with aclosing(self._expanded_pages(route, url, page_size)) as pages:
            async for page in pages:
                if first and _are_ids(page):
                    self._unexpanded.add(route)
                    yield await self._get_each(item_route, page, path)
                    return
                first = False
                yield ObjectList(page, {})

    async def server_time(self) -> int:
        """Return OVH's clock in Unix seconds, from the unauthenticated `GET /auth/time`."""
        url = httpx.URL(self._endpoint + TIME_ROUTE)
        answer = await self._retrying(TIME_ROUTE, partial(self._exchange, "GET", url, TIME_ROUTE))
        if isinstance(answer.data, bool) or not isinstance(answer.data, int):
            raise OvhResponseError(TIME_ROUTE, f"expected an integer, got {answer.data!r:.40}")
        return answer.data

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager that closes it on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the connections."""
        await self.aclose()

    def _authenticator(self, credentials: Credentials | ManagerSession) -> _Authenticator:
        """The way to authorize requests with `credentials`."""
        if isinstance(credentials, ApplicationKey):
            return _SignedRequests(credentials, self._delta)
        if isinstance(credentials, ManagerSession):
            return _SessionCookie(credentials)
        return _BearerRequests(TokenCache(partial(self._fetch_token, credentials), self._clock))

    def _url(
        self, route: str, path: Mapping[str, str | int], params: Mapping[str, str] | None
    ) -> httpx.URL:
        """Build the URL exactly as it will be sent, and so signed."""
        return httpx.URL(self._endpoint + _fill(route, path), params=params)

    async def _api_get(
        self, route: str, url: httpx.URL, headers: Mapping[str, str] | None = None
    ) -> _Answer:
        """GET an API URL unless the credentials were just refused, retrying passing failures."""
        self.access.check(route)
        sent_with = self._credentials
        try:
            answer = await self._retrying(route, partial(self._authorized_get, route, url, headers))
        except OvhError as error:
            # A refusal of credentials replaced since the request left says nothing of the new.
            if sent_with is self._credentials:
                self.access.failed(error)
            raise
        self.access.succeeded()
        return answer

    async def _retrying(self, route: str, attempt: Callable[[], Awaitable[_Answer]]) -> _Answer:
        """Run one exchange under the retry policy, pausing the budget when OVH throttles."""
        return await with_retries(self.retry, route, attempt, self.budget)

    async def _authorized_get(
        self, route: str, url: httpx.URL, headers: Mapping[str, str] | None = None
    ) -> _Answer:
        """GET an API URL with credentials, retrying once if OVH refused the clock or token.

        The budget is waited for before the request is signed: a signature made
        before a long wait would carry a timestamp OVH refuses as too old.
        """
        extra = dict(headers or {})
        await self._take_budget()
        authorization = await self._auth.authorize(str(url))
        try:
            return await self._exchange(
                "GET", url, route, extra | authorization.headers, budgeted=True
            )
        except OvhApiError as error:
            if not await authorization.renew(error):
                raise
        # The delta or the token is new now; a second refusal is final.
        await self._take_budget()
        authorization = await self._auth.authorize(str(url))
        return await self._exchange("GET", url, route, extra | authorization.headers, budgeted=True)

    async def _take_budget(self) -> None:
        """Wait until the account's budget allows one more request."""
        if self.budget is not None:
            await self.budget.acquire()

    async def _expanded_pages(
        self, route: str, url: httpx.URL, page_size: int
    ) -> AsyncGenerator[list[Any], None]:
        """Read a list route's pages of full objects, or the ids it answers instead, one by one."""
        strings: dict[str, str] = {}
        seen = 0
        number = 1
        while True:
            answer = await self._api_get(route, url, _page_headers(page_size, number))
            page = _as_list(route, answer.data)
            _share_strings(page, strings)
            seen += len(page)
            total = _int_header(answer.headers, "X-Pagination-Elements")
            # A route that cannot expand ignores the page headers and sends every id at once.
            last = _are_ids(page) or len(page) < page_size or (total is not None and seen >= total)
            # Held here no longer than by the caller, who may be done with it before the next.
            del answer
            yield page
            del page
            if last:
                return
            number += 1

    async def _get_each(
        self, item_route: str, ids: list[Any], path: Mapping[str, str | int]
    ) -> ObjectList:
        """GET `item_route` once per id, concurrently, keeping answers and failures apart."""
        names = _PLACEHOLDER.findall(item_route)
        if not names:
            raise ValueError(f"item route {item_route} has no placeholder for the id")

        async def fetch(item_id: str | int) -> tuple[Any, OvhError | None]:
            """GET one item, handing back its failure instead of raising it."""
            try:
                url = self._url(item_route, {**path, names[-1]: item_id}, None)
                return (await self._api_get(item_route, url)).data, None
            except OvhError as error:
                return None, error

        async with asyncio.TaskGroup() as group:
            tasks = [(str(item_id), group.create_task(fetch(item_id))) for item_id in ids]

        objects: list[Any] = []
        failed: dict[str, OvhError] = {}
        for key, task in tasks:
            value, error = task.result()
            if error is None:
                objects.append(value)
            else:
                failed[key] = error
        return ObjectList(objects, failed)

    async def _fetch_token(self, credentials: OAuth2ClientCredentials) -> AccessToken:
        """Trade the client id and secret for a new bearer token."""
        # Requests queued behind a refused token request must not each send their own.
        self.access.check(TOKEN_ROUTE)
        exchange = partial(
            self._exchange,
            "POST",
            httpx.URL(credentials.token_url),
            TOKEN_ROUTE,
            data=TOKEN_REQUEST_FORM,
            auth=httpx.BasicAuth(
                credentials.client_id, credentials.client_secret.get_secret_value()
            ),
        )
        try:
            answer = await self._retrying(TOKEN_ROUTE, exchange)
        except OvhError as error:
            if credentials is self._credentials:
                self.access.failed(error)
            raise
        try:
            return parse_token(answer.data, self._clock())
        except ValueError as exc:
            raise OvhResponseError(TOKEN_ROUTE, str(exc), method="POST") from None

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        route: str,
        headers: Mapping[str, str] | None = None,
        *,
        data: Mapping[str, str] | None = None,
        auth: httpx.BasicAuth | None = None,
        budgeted: bool = False,
    ) -> _Answer:
        """Send one request under the concurrency limit, report it, and decode the answer.

        The request waits for the budget first, unless the caller already did (`budgeted`).
        """
        request = self._http.build_request(method, url, headers=headers, data=data)
        if not budgeted:
            await self._take_budget()
        try:
            async with self._semaphore:
                response, body = await self._transfer(request, auth)
        except httpx.TimeoutException as exc:
            reason = f"timeout ({type(exc).__name__})"
            raise self._report(
                route, "timeout", OvhTransportError(route, reason, method=method)
            ) from exc
        except httpx.DecodingError as exc:
            reason = "the body could not be decoded"
            raise self._report(
                route, "invalid_response", OvhResponseError(route, reason, method=method)
            ) from exc
        except httpx.RequestError as exc:
            reason = f"connection error ({type(exc).__name__}: {exc})"
            raise self._report(
                route, "connection_error", OvhTransportError(route, reason, method=method)
            ) from exc

        if body is None:
            reason = f"the body is larger than {self._max_body_bytes} bytes"
            raise self._report(
                route, "invalid_response", OvhResponseError(route, reason, method=method)
            )
        if not response.is_success:
            error = _api_error(route, method, response, body, self._clock())
            raise self._report(route, str(response.status_code), error)
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            reason = _non_json(response, body)
            raise self._report(
                route, "invalid_response", OvhResponseError(route, reason, method=method)
            ) from None
        self._observe(route, str(response.status_code))
        return _Answer(decoded, response.headers)

    async def _transfer(
        self, request: httpx.Request, auth: httpx.BasicAuth | None
    ) -> tuple[httpx.Response, bytes | None]:
        """Send `request` and read its body in a stream; the body is None past the size cap."""
        response = await self._http.send(request, auth=auth, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_body_bytes:
                    return response, None
            return response, bytes(body)
        finally:
            await response.aclose()

    def _report(self, route: str, code: str, error: _E) -> _E:
        """Tell the observer how one exchange failed, and hand back `error` for raising."""
        self._observe(route, code)
        return error

    def _observe(self, route: str, code: str) -> None:
        """Tell the observer how one exchange ended."""
        if self._observer is not None:
            self._observer(route, code)


def _token_url(credentials: Credentials | ManagerSession) -> str | None:
    """The OAuth2 token URL the credentials are traded at, None for the other kinds."""
    return credentials.token_url if isinstance(credentials, OAuth2ClientCredentials) else None


def _fill(route: str, path: Mapping[str, str | int]) -> str:
    """Fill a route template's placeholders with URL-quoted values, `/` included."""
    names = _PLACEHOLDER.findall(route)
    if sorted(names) != sorted(path):
        raise ValueError(f"route {route} takes {names}, got {sorted(path)}")
    return _PLACEHOLDER.sub(lambda match: quote(str(path[match.group(1)]), safe=""), route)


def _is_clock_error(error: OvhApiError) -> bool:
    """Tell whether OVH refused a signed request because of its timestamp."""
    if error.status not in _CLOCK_ERROR_STATUSES:
        return False
    message = error.message.lower()
    return error.error_code in _CLOCK_ERROR_CODES or any(w in message for w in _CLOCK_ERROR_WORDS)


def _page_headers(size: int, number: int) -> dict[str, str]:
    """Ask a list route for page `number` of full objects."""
    return {
        "X-Pagination-Mode": "CachedObjectList-Pages",
        "X-Pagination-Size": str(size),
        "X-Pagination-Number": str(number),
    }


def _as_list(route: str, data: Any) -> list[Any]:
    """Return `data` if it is a JSON list, raise `OvhResponseError` otherwise."""
    if not isinstance(data, list):
        raise OvhResponseError(route, f"expected a JSON list, got {type(data).__name__}")
    return data


def _share_strings(data: list[Any], known: dict[str, str]) -> None:
    """Replace, in place, each string value of decoded JSON by the first equal one in `known`.

    The objects of a listing repeat the same few thousand values (states, zones,
    models, dates, currencies): at 10,000 VPS, sharing one string per value
    spares a third of what the decoded pages of `/vps` and `/services` take.
    Keys are left alone: the decoder already shares those of a page.
    """
    pending: list[Any] = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if type(value) is str:
                    node[key] = known.setdefault(value, value)
                elif isinstance(value, dict | list):
                    pending.append(value)
        else:
            for index, value in enumerate(node):
                if type(value) is str:
                    node[index] = known.setdefault(value, value)
                elif isinstance(value, dict | list):
                    pending.append(value)


def _are_ids(items: list[Any]) -> bool:
    """Tell whether a list route answered ids rather than objects (an empty list is neither)."""
    return bool(items) and not any(isinstance(item, dict) for item in items)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    """Read an integer header, None when it is missing or not a number."""
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def _excerpt(body: bytes) -> str:
    """The start of a body as one line, for error messages."""
    return " ".join(body.decode("utf-8", "replace").split())[:_EXCERPT_CHARS]


def _non_json(response: httpx.Response, body: bytes) -> str:
    """Describe a body that is not JSON by its content type and first characters."""
    content_type = response.headers.get("content-type", "no content type").split(";")[0].strip()
    return f"non-JSON answer ({content_type}): {_excerpt(body)}"


def _api_error(
    route: str, method: str, response: httpx.Response, body: bytes, now: float
) -> OvhApiError:
    """Build the error for a non-2xx answer from OVH's JSON error body (or the OAuth2 one)."""
    code: object = None
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        message: object = _non_json(response, body)
    else:
        if isinstance(payload, dict):
            code = payload.get("errorCode") or payload.get("class") or payload.get("error")
            message = payload.get("message") or payload.get("error_description") or ""
        else:
            message = f"unexpected answer: {_excerpt(body)}"
    return OvhApiError(
        route,
        response.status_code,
        None if code is None else str(code),
        str(message),
        response.headers.get("X-Ovh-QueryID"),
        method=method,
        retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
    )
