"""How the simulated OVH account behaves, and the public demo credentials it accepts."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from exporter.simulator.faults import Faults

# Public demo values, published on purpose so demos and tests can sign requests:
# they open nothing but the simulator. Shaped like OVH's own (16 and 32 characters).
DEMO_APPLICATION_KEY = "simAppKey0000000"
DEMO_APPLICATION_SECRET = "simAppSecret00000000000000000000"  # noqa: S105 - public demo value.
DEMO_CONSUMER_KEY = "simConsumerKey000000000000000000"
DEMO_CLIENT_ID = "EU.sim0000000000"
DEMO_CLIENT_SECRET = "simClientSecret00000000000000000"  # noqa: S105 - public demo value.
DEMO_MANAGER_SESSION = "simManagerSession000000000000000"
DEMO_MANAGER_USERID = "sim12345-ovh"
DEMO_MANAGER_COOKIE = f"SESSION={DEMO_MANAGER_SESSION}; USERID={DEMO_MANAGER_USERID}"


@dataclass
class SimulatorConfig:
    """Credentials the simulator accepts and the faults it injects; read on every request.

    `token_lifetime` is the life of an OAuth2 access token in seconds; `clock_skew`
    is added to `clock` for `/auth/time`, timestamp checks and token expiry;
    `latency` is slept before every answer; `expand_lists` honours
    `X-Pagination-Mode: CachedObjectList-Pages`; `denied_routes` holds route
    templates without the `/1.0` prefix (such as "/vps/{serviceName}/tasks") that
    answer 403 NOT_GRANTED_CALL; `clock` returns Unix seconds and is there so tests
    can move time without sleeping; `faults` holds the faults injected per route
    (see `exporter.simulator.faults`); `manager_sessions` holds the `SESSION`
    cookies the simulated manager accepts, a set a test may empty to kill them.
    """

    application_key: str = DEMO_APPLICATION_KEY
    application_secret: str = field(default=DEMO_APPLICATION_SECRET, repr=False)
    consumer_key: str = field(default=DEMO_CONSUMER_KEY, repr=False)
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = field(default=DEMO_CLIENT_SECRET, repr=False)
    token_lifetime: int = 3600
    clock_skew: int = 0
    latency: float = 0.0
    expand_lists: bool = True
    denied_routes: frozenset[str] = frozenset()
    clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)
    manager_sessions: set[str] = field(default_factory=lambda: {DEMO_MANAGER_SESSION}, repr=False)

    def __post_init__(self) -> None:
        """Refuse settings no real account could have."""
        if self.token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be positive, got {self.token_lifetime}")
        if self.latency < 0:
            raise ValueError(f"latency must not be negative, got {self.latency}")

    def now(self) -> float:
        """Return the simulator's clock: `clock()` plus `clock_skew` seconds."""
        return self.clock() + self.clock_skew
