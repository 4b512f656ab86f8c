"""The simulated `POST /auth/credential`: a consumer key asked for by an application key.

The simulator answers like OVH (a new key waiting for validation, and the URL
where the account's owner validates it) and records the access rules asked
for, so that tests can check what `ovh-vps-exporter credentials` requested.
"""

import json
import secrets
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from exporter.simulator.config import SimulatorConfig
from exporter.simulator.errors import bad_request, coded_error

CREDENTIAL_ROUTE: Final = "/auth/credential"
METHODS: Final = frozenset({"GET", "POST", "PUT", "DELETE"})


@dataclass(frozen=True)
class CredentialRequest:
    """One consumer key handed out: the rules asked for, the redirection and the key.

    `signed` tells whether the request carried a consumer key or a signature, which
    this unauthenticated call does not need.
    """

    application_key: str
    access_rules: tuple[tuple[str, str], ...]
    redirection: str | None
    consumer_key: str
    signed: bool


CREDENTIAL_REQUESTS: Final = web.AppKey("CREDENTIAL_REQUESTS", list[CredentialRequest])


def _rules(body: object) -> tuple[tuple[str, str], ...]:
    """The (method, path) access rules of a request body, or OVH's 400."""
    rules = body.get("accessRules") if isinstance(body, dict) else None
    if not isinstance(rules, list) or not rules:
        raise bad_request("accessRules: a non-empty list of {method, path} is required")
    parsed = []
    for rule in rules:
        method = rule.get("method") if isinstance(rule, dict) else None
        path = rule.get("path") if isinstance(rule, dict) else None
        if method not in METHODS or not isinstance(path, str) or not path.startswith("/"):
            raise bad_request(f"Invalid access rule: {json.dumps(rule)[:80]}")
        parsed.append((method, path))
    return tuple(parsed)


async def create_credential(request: web.Request, config: SimulatorConfig) -> web.Response:
    """Answer `POST /auth/credential`: unsigned, with the application key alone."""
    application_key = request.headers.get("X-Ovh-Application", "")
    if application_key != config.application_key:
        raise coded_error(403, "INVALID_KEY", "This application key is invalid")
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise bad_request("The body is not JSON") from None
    rules = _rules(body)
    redirection = body.get("redirection")
    if redirection is not None and not isinstance(redirection, str):
        raise bad_request("redirection: a URL is expected")

    consumer_key = secrets.token_hex(16)
    request.app[CREDENTIAL_REQUESTS].append(
        CredentialRequest(
            application_key,
            rules,
            redirection,
            consumer_key,
            signed=any(h in request.headers for h in ("X-Ovh-Consumer", "X-Ovh-Signature")),
        )
    )
    token = secrets.token_urlsafe(24)
    return web.json_response(
        {
            "validationUrl": f"{request.scheme}://{request.host}/auth/?credentialToken={token}",
            "consumerKey": consumer_key,
            "state": "pendingValidation",
        }
    )
