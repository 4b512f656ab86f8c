"""TLS and HTTP basic auth for every endpoint, from a web config file in the Prometheus format.

The file is the one the official Prometheus exporters read with `--web.config.file`
(`tls_server_config`, `http_server_config`, `basic_auth_users` with bcrypt hashes),
plus one key of this exporter's own, `ovh_exporter_open_paths`, that lists the
probe endpoints left open when basic auth is on. Relative file names in it are
relative to the file's own directory, as in the Prometheus exporters.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import bcrypt
import structlog
import yaml
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

log = structlog.stdlib.get_logger(__name__)

OPEN_PATHS_KEY: Final = "ovh_exporter_open_paths"
# Only the probes may be opened: a kubelet or a Docker HEALTHCHECK cannot always
# send credentials, while /metrics and the landing page always stay behind the auth.
OPENABLE_PATHS: Final = frozenset({"/healthz", "/readyz"})

REALM: Final = "ovh-vps-exporter"
WWW_AUTHENTICATE: Final = f'Basic realm="{REALM}", charset="UTF-8"'

# Successful checks are remembered so a scrape does not pay bcrypt's cost each time;
# only successes are kept, so a stranger cannot fill the cache.
AUTH_CACHE_SIZE: Final = 256

_BCRYPT_HASH = re.compile(r"^\$2[abxy]\$(?P<cost>\d\d)\$[./A-Za-z0-9]{53}$")

_TLS_VERSIONS: Final = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_OLD_TLS_VERSIONS: Final = frozenset({"TLS10", "TLS11"})

_CLIENT_AUTH: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# Go's names for asking a certificate without verifying it: Python's ssl module
# cannot do that, and such a certificate proves nothing anyway.
_UNVERIFIED_CLIENT_AUTH: Final = frozenset({"RequestClientCert", "RequireAnyClientCert"})

# Response headers the file may set, as in the Prometheus exporters; any other
# could break the exposition (Content-Type, Content-Encoding...).
SETTABLE_HEADERS: Final = frozenset(
    {
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "X-XSS-Protection",
        "Content-Security-Policy",
    }
)

_TLS_KEYS: Final = frozenset(
    {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"}
)
# Keys of the Prometheus format this exporter does not implement: refused by name
# rather than ignored, so nobody believes a setting is in force when it is not.
_UNSUPPORTED_TLS_KEYS: Final = frozenset(
    {
        "cert",
        "key",
        "client_ca",
        "cipher_suites",
        "curve_preferences",
        "prefer_server_cipher_suites",
        "client_allowed_sans",
    }
)
_HTTP_KEYS: Final = frozenset({"headers", "http2"})
_TOP_KEYS: Final = frozenset(
    {"tls_server_config", "http_server_config", "basic_auth_users", OPEN_PATHS_KEY}
)
_UNSUPPORTED_TOP_KEYS: Final = frozenset({"rate_limit"})


class WebConfigError(ValueError):
    """The web config file cannot be used; `problems` lists every problem, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        """Keep the problems and join them into the message."""
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class WebConfig:
    """What the web config file asks for: a TLS context, basic-auth users, open paths, headers."""

    path: Path
    ssl_context: ssl.SSLContext | None = None
    users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    open_paths: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        """True when the endpoints are served over TLS."""
        return self.ssl_context is not None

    @property
    def basic_auth(self) -> bool:
        """True when every endpoint but the open paths asks for a user name and password."""
        return bool(self.users)


class _Problems:
    """Collects the problems of one file, each prefixed with the file and the key."""

    def __init__(self, path: Path) -> None:
        """Start an empty list for `path`."""
        self.path = path
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        """Note a problem with `key` (a dotted path into the file)."""
        self.items.append(f"{self.path}: {key}: {message}")


def load_web_config(path: Path) -> WebConfig:
    """Read and check the web config file, or raise WebConfigError listing every problem."""
    problems = _Problems(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise WebConfigError([f"{path}: cannot read the web config file: {reason}"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise WebConfigError([f"{path}: not valid YAML{where}"]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise WebConfigError([f"{path}: the web config file must be a YAML mapping"])

    _check_keys(problems, "", document, _TOP_KEYS, _UNSUPPORTED_TOP_KEYS)
    base = path.parent
    ssl_context = _tls(problems, base, document.get("tls_server_config"))
    headers = _http(problems, document.get("http_server_config"))
    users = _users(problems, document.get("basic_auth_users"))
    open_paths = _open_paths(problems, document.get(OPEN_PATHS_KEY))
    if problems.items:
        raise WebConfigError(problems.items)
    return WebConfig(path, ssl_context, users, open_paths, headers)


def web_config_problems(path: Path) -> list[str]:
    """Every problem of the web config file, or an empty list when it can be used."""
    try:
        load_web_config(path)
    except WebConfigError as error:
        return error.problems
    return []


def _check_keys(
    problems: _Problems,
    section: str,
    mapping: Mapping[object, object],
    known: frozenset[str],
    unsupported: frozenset[str] = frozenset(),
) -> None:
    """Refuse keys the format does not have, and name those this exporter does not implement."""
    for key in mapping:
        name = f"{section}{key}"
        if key in unsupported:
            problems.add(name, "is not supported by ovh-vps-exporter; remove it")
        elif key not in known:
            problems.add(name, "unknown key (allowed: " + ", ".join(sorted(known)) + ")")


def _mapping(problems: _Problems, key: str, value: object) -> dict[object, object] | None:
    """Return `value` if it is a mapping (an absent section is an empty one), else note it."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(key, "must be a mapping")
        return None
    return value


def _string(problems: _Problems, key: str, value: object) -> str | None:
    """Return `value` if it is a non-empty string, else note it."""
    if isinstance(value, str) and value:
        return value
    problems.add(key, "must be a non-empty string")
    return None


def _readable(problems: _Problems, key: str, base: Path, value: object) -> Path | None:
    """Resolve a file name against the config's directory and check that it can be read."""
    name = _string(problems, key, value)
    if name is None:
        return None
    path = base / name
    try:
        with path.open("rb") as stream:
            stream.read(1)
    except OSError as error:
        problems.add(key, f"cannot read {path}: {error.strerror or error}")
        return None
    return path


def _refuse_password_prompt() -> bytes:
    """Stand in for the terminal prompt OpenSSL would show for an encrypted key."""
    raise ssl.SSLError("the key file is encrypted: give an unencrypted PEM key")


def _tls(problems: _Problems, base: Path, section: object) -> ssl.SSLContext | None:
    """Build the server's TLS context from `tls_server_config`, or None when TLS is off."""
    config = _mapping(problems, "tls_server_config", section)
    if not config:
        return None
    _check_keys(problems, "tls_server_config.", config, _TLS_KEYS, _UNSUPPORTED_TLS_KEYS)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    lowest = _tls_version(problems, "min_version", config, ssl.TLSVersion.TLSv1_2)
    highest = _tls_version(problems, "max_version", config, ssl.TLSVersion.TLSv1_3)
    if lowest is not None and highest is not None:
        if highest < lowest:
            problems.add("tls_server_config.max_version", "is lower than min_version")
        else:
            context.minimum_version, context.maximum_version = lowest, highest

    cert = _readable(problems, "tls_server_config.cert_file", base, config.get("cert_file"))
    key = _readable(problems, "tls_server_config.key_file", base, config.get("key_file"))
    if cert is not None and key is not None:
        try:
            context.load_cert_chain(cert, key, password=_refuse_password_prompt)
        except ssl.SSLError as error:
            problems.add(
                "tls_server_config.cert_file",
                f"cannot use {cert} with the key {key}: both must be PEM, the key unencrypted "
                f"and matching the certificate ({getattr(error, 'reason', None) or error})",
            )

    _client_auth(problems, base, config, context)
    return context


def _tls_version(
    problems: _Problems, key: str, config: Mapping[object, object], default: ssl.TLSVersion
) -> ssl.TLSVersion | None:
    """Return the TLS version `key` names (`default` when absent), or None after noting why not."""
    value = config.get(key)
    if value is None:
        return default
    if value in _TLS_VERSIONS:
        return _TLS_VERSIONS[str(value)]
    if value in _OLD_TLS_VERSIONS:
        problems.add(f"tls_server_config.{key}", f"{value} is deprecated (RFC 8996): use TLS12")
    else:
        problems.add(f"tls_server_config.{key}", f"{value!r} is not one of TLS12, TLS13")
    return None


def _client_auth(
    problems: _Problems, base: Path, config: Mapping[object, object], context: ssl.SSLContext
) -> None:
    """Set client certificate verification from `client_auth_type` and `client_ca_file`."""
    ca_given = config.get("client_ca_file") is not None
    # A CA with no type means its certificates are wanted: verify them rather than ignore the CA.
    mode = config.get("client_auth_type", "RequireAndVerifyClientCert" if ca_given else None)
    key = "tls_server_config.client_auth_type"
    if mode is None:
        return
    if mode in _UNVERIFIED_CLIENT_AUTH:
        problems.add(key, f"{mode} accepts unverified certificates: use RequireAndVerifyClientCert")
        return
    if mode not in _CLIENT_AUTH:
        problems.add(key, f"{mode!r} is not one of " + ", ".join(_CLIENT_AUTH))
        return
    verify = _CLIENT_AUTH[str(mode)]
    if verify != ssl.CERT_NONE and not ca_given:
        problems.add("tls_server_config.client_ca_file", f"is required by {mode}")
        return
    if ca_given:
        ca_key = "tls_server_config.client_ca_file"
        ca = _readable(problems, ca_key, base, config.get("client_ca_file"))
        if ca is None:
            return
        try:
            context.load_verify_locations(cafile=ca)
        except ssl.SSLError as error:
            problems.add(ca_key, f"{ca} holds no PEM certificate ({error.reason})")
            return
    context.verify_mode = verify


def _http(problems: _Problems, section: object) -> dict[str, str]:
    """Return the response headers `http_server_config` asks for."""
    config = _mapping(problems, "http_server_config", section)
    if not config:
        return {}
    _check_keys(problems, "http_server_config.", config, _HTTP_KEYS)
    # http2 is accepted for compatibility; aiohttp serves HTTP/1.1 whatever it says.
    if "http2" in config and not isinstance(config["http2"], bool):
        problems.add("http_server_config.http2", "must be true or false")
    given = _mapping(problems, "http_server_config.headers", config.get("headers"))
    headers: dict[str, str] = {}
    for name, value in (given or {}).items():
        key = f"http_server_config.headers.{name}"
        canonical = next((h for h in SETTABLE_HEADERS if h.lower() == str(name).lower()), None)
        if canonical is None:
            problems.add(
                key, "cannot be set (allowed: " + ", ".join(sorted(SETTABLE_HEADERS)) + ")"
            )
        elif not isinstance(value, str) or not value or any(c in value for c in "\r\n"):
            problems.add(key, "must be a one-line, non-empty string")
        else:
            headers[canonical] = value
    return headers


def _users(problems: _Problems, section: object) -> dict[str, bytes]:
    """Return the basic-auth users and their bcrypt hashes, checking the shape of each."""
    config = _mapping(problems, "basic_auth_users", section)
    users: dict[str, bytes] = {}
    for name, hashed in (config or {}).items():
        # The hash is not shown: it is not the password, but it can be attacked offline.
        key = f"basic_auth_users.{name}"
        if not isinstance(name, str) or not name:
            problems.add(key, "user names must be non-empty strings (quote it in YAML)")
        elif ":" in name:
            problems.add(key, "user names cannot contain ':' (RFC 7617)")
        else:
            match = _BCRYPT_HASH.match(hashed) if isinstance(hashed, str) else None
            if match is None:
                problems.add(key, "must be a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)")
            elif not 4 <= int(match["cost"]) <= 31:
                problems.add(key, "bcrypt cost must be between 04 and 31")
            else:
                users[name] = match[0].encode("ascii")
    return users


def _open_paths(problems: _Problems, value: object) -> frozenset[str]:
    """Return the probe paths served without credentials."""
    if value is None:
        return frozenset()
    allowed = ", ".join(sorted(OPENABLE_PATHS))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.add(OPEN_PATHS_KEY, f"must be a list of paths among {allowed}")
        return frozenset()
    for item in value:
        if item not in OPENABLE_PATHS:
            problems.add(OPEN_PATHS_KEY, f"{item!r} cannot be opened (only {allowed})")
    return frozenset(value) & OPENABLE_PATHS


def _basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    """Split an `Authorization: Basic` header into user and password bytes, or None."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


class BasicAuth:
    """Checks basic-auth credentials against bcrypt hashes, remembering those that passed."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        """Keep the users; a decoy hash makes an unknown user cost as much as a wrong password."""
        self._users = {name.encode(): (name, hashed) for name, hashed in users.items()}
        cost = max((int(hashed[4:6]) for hashed in users.values()), default=4)
        self._decoy = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))
        # Cache keys are HMACs under a key of this process only, never the header itself.
        self._key = secrets.token_bytes(32)
        self._passed: dict[bytes, str] = {}
        # One bcrypt at a time: a flood of wrong passwords cannot take every core, and
        # concurrent first scrapes with the same credentials pay bcrypt once.
        self._lock = asyncio.Lock()

    async def user(self, header: str | None) -> str | None:
        """Return the user an `Authorization` header proves, or None."""
        if not header:
            return None
        digest = hmac.new(
            self._key, header.encode("utf-8", "surrogateescape"), hashlib.sha256
        ).digest()
        known = self._passed.get(digest)
        if known is not None:
            return known
        credentials = _basic_credentials(header)
        if credentials is None:
            return None
        async with self._lock:
            known = self._passed.get(digest)
            if known is None:
                known = await asyncio.to_thread(self._verify, *credentials)
                if known is not None:
                    if len(self._passed) >= AUTH_CACHE_SIZE:
                        self._passed.clear()
                    self._passed[digest] = known
        return known

    def _verify(self, user: bytes, password: bytes) -> str | None:
        """Run bcrypt once whatever the user name, and compare every name in constant time."""
        hashed, found = self._decoy, None
        for candidate, (name, candidate_hash) in self._users.items():
            if hmac.compare_digest(candidate, user):
                hashed, found = candidate_hash, name
        try:
            matches = bcrypt.checkpw(password, hashed)
        except ValueError:  # bcrypt refuses passwords longer than 72 bytes.
            matches = False
        return found if matches else None


def unauthorized() -> web.Response:
    """The 401 answer, inviting the client to send basic credentials."""
    return web.Response(
        status=401,
        text="401 Unauthorized: this exporter asks for a user name and password\n",
        headers={hdrs.WWW_AUTHENTICATE: WWW_AUTHENTICATE},
    )


def basic_auth_middleware(config: WebConfig) -> Middleware:
    """A middleware asking every request but those for the open paths for valid credentials."""
    checker = BasicAuth(config.users)

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer 401 before routing, so unknown paths reveal nothing either."""
        if request.path not in config.open_paths:
            user = await checker.user(request.headers.get(hdrs.AUTHORIZATION))
            if user is None:
                log.debug("basic auth refused", path=request.path, remote=request.remote)
                return unauthorized()
        return await handler(request)

    return basic_auth


def apply_web_config(app: web.Application, config: WebConfig) -> None:
    """Add the basic auth (when there are users) and the configured headers to a new `app`."""
    if config.basic_auth:
        app.middlewares.append(basic_auth_middleware(config))
    if config.headers:
        headers = dict(config.headers)

        async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
            """Stamp the configured headers on every answer, errors included."""
            response.headers.update(headers)

        app.on_response_prepare.append(add_headers)
