"""Client of the OVH API v1: endpoints, credentials, errors and the read-only HTTP client."""

from exporter.ovh.auth import ApplicationKey, Credentials, OAuth2ClientCredentials
from exporter.ovh.client import ObjectList, OvhClient, RequestObserver
from exporter.ovh.endpoints import ENDPOINTS, TOKEN_URLS, resolve_endpoint, token_url_for
from exporter.ovh.errors import (
    OvhApiError,
    OvhError,
    OvhResponseError,
    OvhTransportError,
    ReadOnlyError,
)

__all__ = [
    "ENDPOINTS",
    "TOKEN_URLS",
    "ApplicationKey",
    "Credentials",
    "OAuth2ClientCredentials",
    "ObjectList",
    "OvhApiError",
    "OvhClient",
    "OvhError",
    "OvhResponseError",
    "OvhTransportError",
    "ReadOnlyError",
    "RequestObserver",
    "resolve_endpoint",
    "token_url_for",
]
