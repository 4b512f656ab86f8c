"""What OVH lets one account do: refused credentials pause it, calls not granted are named once.

When OVH refuses the credentials themselves (401, or INVALID_CREDENTIAL,
INVALID_KEY, NOT_CREDENTIAL, or an INVALID_SIGNATURE that survived a fresh
reading of OVH's clock), every later request would be refused too. The guard
then lets nothing through for a delay that doubles with each refusal in a row,
so a revoked key costs one request per delay instead of one per VPS per run.
"""

import re
import time
from collections.abc import Callable

import structlog

from exporter.ovh.errors import OvhApiError, OvhError

DEFAULT_MIN_DELAY = 60.0
DEFAULT_MAX_DELAY = 3600.0

_PLACEHOLDER = re.compile(r"\{\w+(?::[^}]*)?\}")

log = structlog.stdlib.get_logger(__name__)


class CredentialsRefusedError(OvhError):
    """Not sent: OVH refused this account's credentials, and the delay before trying again runs."""

    def __init__(self, route: str, retry_in: float) -> None:
        """Name the route that was not asked and when asking resumes."""
        super().__init__(
            route, f"not sent: OVH refused the credentials, next attempt in {retry_in:.0f} s"
        )
        self.retry_in = retry_in


def access_rule(route: str, method: str = "GET") -> str:
    """The access rule a consumer key needs for `route`, as OVH writes it: `GET /vps/*/tasks`."""
    return f"{method} {_PLACEHOLDER.sub('*', route)}"


def already_reported(error: OvhError) -> bool:
    """Tell whether the guard has logged this kind of failure, so a run report need not."""
    if isinstance(error, CredentialsRefusedError):
        return True
    return isinstance(error, OvhApiError) and (error.auth_failed or error.not_granted)


class AccessGuard:
    """Holds back an account's requests after its credentials are refused; names missing rules.

    Thread-unsafe by design: it lives on the event loop with the client that feeds it.
    """

    def __init__(
        self,
        account: str = "",
        *,
        min_delay: float = DEFAULT_MIN_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Start open; `clock` measures the delays and is there so tests need not wait."""
        if not 0 < min_delay <= max_delay:
            raise ValueError("delays must satisfy 0 < min_delay <= max_delay")
        self.account = account
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._clock = clock
        self._reopens_at: float | None = None
        self._streak = 0
        self.failures = 0
        self._not_granted: set[str] = set()
        # Called once after each refusal, when its delay ends, before the next request leaves:
        # the daemon reads the account's secret files again there (exporter.rotation).
        self.before_retry: Callable[[], None] | None = None
        self._retry_pending = False

    @property
    def ok(self) -> bool:
        """True unless the last word from OVH on the credentials was a refusal."""
        return self._streak == 0

    @property
    def not_granted_routes(self) -> frozenset[str]:
        """The routes OVH answered NOT_GRANTED_CALL for, since start."""
        return frozenset(self._not_granted)

    def check(self, route: str) -> None:
        """Raise `CredentialsRefusedError` while the delay after a refusal runs; pass otherwise."""
        if self._reopens_at is None:
            return
        left = self._reopens_at - self._clock()
        if left > 0:
            raise CredentialsRefusedError(route, left)
        if self._retry_pending:
            self._retry_pending = False
            if self.before_retry is not None:
                self.before_retry()

    def retry_now(self) -> None:
        """End the delay at once (the credentials were replaced); the refusal streak stays."""
        if self._reopens_at is not None:
            self._reopens_at = min(self._reopens_at, self._clock())
        self._retry_pending = False

    def failed(self, error: OvhError) -> None:
        """Learn from a final failure: refused credentials close the guard, NOT_GRANTED is named."""
        if not isinstance(error, OvhApiError):
            return
        if error.not_granted:
            self._report_not_granted(error)
        elif error.auth_failed:
            self._refused(error)

    def succeeded(self) -> None:
        """Learn that OVH accepted the credentials: the guard opens and the delay starts over."""
        if self._streak:
            log.warning(
                "OVH accepts the credentials again", account=self.account, refusals=self._streak
            )
        self._streak = 0
        self._reopens_at = None

    def _refused(self, error: OvhApiError) -> None:
        """Close the guard for a delay that doubles with each refusal in a row."""
        now = self._clock()
        if self._reopens_at is not None and now < self._reopens_at:
            # An answer to a request sent before the guard closed: same refusal, no new delay.
            return
        self.failures += 1
        self._streak += 1
        delay = min(self.max_delay, self.min_delay * 2.0 ** min(self._streak - 1, 32))
        self._reopens_at = now + delay
        self._retry_pending = True
        log.error(
            "OVH refuses the credentials: no request is sent until the next attempt",
            account=self.account,
            route=error.route,
            status=error.status,
            error_code=error.error_code,
            message=error.message,
            query_id=error.query_id,
            refusals_in_a_row=self._streak,
            next_attempt_in_seconds=round(delay, 3),
        )

    def _report_not_granted(self, error: OvhApiError) -> None:
        """Log the access rule a call lacks, the first time its route is refused."""
        if error.route in self._not_granted:
            return
        self._not_granted.add(error.route)
        log.warning(
            "OVH has not granted this call to the consumer key: add the access rule to collect it",
            account=self.account,
            route=error.route,
            access_rule=access_rule(error.route, error.method),
            query_id=error.query_id,
        )
