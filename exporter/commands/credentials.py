"""`ovh-vps-exporter credentials`: ask OVH for a consumer key limited to what the exporter reads.

This is the one request of the project that is not a GET, so it does not go
through `OvhClient`, which refuses anything else: it is a single unsigned
`POST /auth/credential` carrying the application key alone, sent with its own
httpx client by this command only. OVH answers with a consumer key that works
once the account's owner has opened the validation URL and logged in.
"""

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx
from pydantic import SecretStr

from exporter.ovh.endpoints import resolve_endpoint
from exporter.routes import access_rules

CREDENTIAL_ROUTE = "/auth/credential"
EXIT_CONFIG = 2


class CredentialRequestError(Exception):
    """OVH did not hand out a consumer key; the message says why, without any secret."""


@dataclass(frozen=True)
class NewCredential:
    """A consumer key waiting for validation, and where its owner validates it."""

    consumer_key: SecretStr
    validation_url: str
    state: str
    access_rules: list[dict[str, str]] = field(default_factory=list)


async def request_credential(
    base_url: str,
    application_key: str,
    *,
    rules: list[dict[str, str]] | None = None,
    redirection: str | None = None,
    request_timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> NewCredential:
    """POST the access rules (by default, the exporter's) to `base_url` + `/auth/credential`."""
    asked = access_rules() if rules is None else rules
    body: dict[str, Any] = {"accessRules": asked}
    if redirection:
        body["redirection"] = redirection
    url = base_url.rstrip("/") + CREDENTIAL_ROUTE
    async with httpx.AsyncClient(timeout=request_timeout, transport=transport) as client:
        try:
            response = await client.post(
                url, json=body, headers={"X-Ovh-Application": application_key}
            )
        except httpx.HTTPError as error:
            raise CredentialRequestError(f"POST {url}: {type(error).__name__}: {error}") from None
    answer = _json(response)
    if not response.is_success:
        code = answer.get("errorCode") or answer.get("class") or ""
        message = answer.get("message") or response.reason_phrase
        raise CredentialRequestError(
            f"POST {url}: HTTP {response.status_code} {code}: {message}".replace("  ", " ")
        )
    key = answer.get("consumerKey")
    validation_url = answer.get("validationUrl")
    if not isinstance(key, str) or not isinstance(validation_url, str):
        raise CredentialRequestError(f"POST {url}: the answer has no consumerKey or validationUrl")
    return NewCredential(SecretStr(key), validation_url, str(answer.get("state", "")), asked)


def _json(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one."""
    try:
        answer = json.loads(response.content)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def print_instructions(credential: NewCredential, base_url: str, out: TextIO = sys.stdout) -> None:
    """Tell the operator how to validate the key and hand it to the exporter."""
    rules = "\n".join(f"    {rule['method']} {rule['path']}" for rule in credential.access_rules)
    out.write(
        f"OVH created a consumer key at {base_url}, limited to these access rules:\n"
        f"{rules}\n\n"
        "1. Open this URL, log in with the OVH account the exporter is to watch, and "
        "validate the key\n"
        "   (choose an unlimited validity, or renew the key before it expires):\n"
        f"    {credential.validation_url}\n\n"
        "2. Give the exporter this consumer key with the same application key and secret,\n"
        "   for example in OVH_CONSUMER_KEY or in consumer_key_file of --config.file:\n"
        f"    OVH_CONSUMER_KEY={credential.consumer_key.get_secret_value()}\n\n"
        "3. Run `ovh-vps-exporter check` to see that every route answers.\n"
    )


async def run(
    endpoint: str | None,
    application_key: str | None,
    redirection: str | None,
    out: TextIO = sys.stdout,
) -> int:
    """The command: 0 with the key printed, 1 when OVH refused, 2 for missing or bad settings."""
    endpoint = endpoint or os.environ.get("OVH_ENDPOINT") or "ovh-eu"
    application_key = application_key or os.environ.get("OVH_APPLICATION_KEY")
    problems = []
    try:
        base_url = resolve_endpoint(endpoint)
    except ValueError as error:
        problems.append(f"--endpoint / OVH_ENDPOINT: {error}")
    if not application_key:
        problems.append(
            "--application-key / OVH_APPLICATION_KEY: required (create an application at "
            "https://eu.api.ovh.com/createApp/ or your region's equivalent first)"
        )
    if problems:
        sys.stderr.write("ovh-vps-exporter credentials: " + "; ".join(problems) + "\n")
        return EXIT_CONFIG
    try:
        credential = await request_credential(
            base_url, application_key or "", redirection=redirection
        )
    except CredentialRequestError as error:
        sys.stderr.write(f"ovh-vps-exporter credentials: {error}\n")
        return 1
    print_instructions(credential, base_url, out)
    return 0
