"""A liveness probe for container HEALTHCHECKs: `python -m exporter.healthcheck /healthz`.

It asks the exporter on this machine, at the port of OVH_EXPORTER_WEB_LISTEN_ADDRESS
(default 10060), over HTTP and, if the exporter serves TLS, over HTTPS. Any answer
below 500 means the process is alive and serving, a 401 from basic auth included,
so the probe needs neither the web config file nor its credentials.
"""

import http.client
import os
import ssl
import sys
from collections.abc import Sequence

# Only the standard library: the probe runs every 30 s and should start fast.
DEFAULT_PORT = 10060
TIMEOUT_SECONDS = 4.0


def _status(connection: http.client.HTTPConnection, path: str) -> int:
    """GET `path` on `connection` and return the status."""
    try:
        connection.request("GET", path, headers={"User-Agent": "ovh-vps-exporter-healthcheck"})
        return connection.getresponse().status
    finally:
        connection.close()


def probe(port: int, path: str = "/healthz") -> int | None:
    """The status the local exporter answers at `path`, over HTTP or else HTTPS; None if none."""
    try:
        return _status(http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS), path)
    except (OSError, http.client.HTTPException):
        pass
    # The exporter's own certificate names its public host, not 127.0.0.1, and only
    # liveness is asked here: nothing is sent that a man in the middle could use.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=TIMEOUT_SECONDS, context=context
        )
        return _status(connection, path)
    except (OSError, http.client.HTTPException):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when the exporter answers below 500, 1 otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = args[0] if args else "/healthz"
    listen = os.environ.get("OVH_EXPORTER_WEB_LISTEN_ADDRESS", f":{DEFAULT_PORT}")
    port_text = listen.rpartition(":")[2]
    if not port_text.isdigit():
        print(
            f"healthcheck: no port in OVH_EXPORTER_WEB_LISTEN_ADDRESS={listen!r}", file=sys.stderr
        )
        return 1
    port = int(port_text)
    status = probe(port, path)
    if status is None or status >= 500:
        print(f"healthcheck: no live answer on port {port} (status {status})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
