"""Endpoint aliases and OAuth2 token URLs."""

import pytest

from exporter.ovh.endpoints import ENDPOINTS, TOKEN_URLS, resolve_endpoint, token_url_for


def test_every_alias_of_the_official_libraries_is_known() -> None:
    assert ENDPOINTS == {
        "ovh-eu": "https://eu.api.ovh.com/1.0",
        "ovh-ca": "https://ca.api.ovh.com/1.0",
        "ovh-us": "https://api.us.ovhcloud.com/1.0",
        "kimsufi-eu": "https://eu.api.kimsufi.com/1.0",
        "kimsufi-ca": "https://ca.api.kimsufi.com/1.0",
        "soyoustart-eu": "https://eu.api.soyoustart.com/1.0",
        "soyoustart-ca": "https://ca.api.soyoustart.com/1.0",
    }


def test_only_ovh_endpoints_have_token_urls() -> None:
    assert TOKEN_URLS == {
        "ovh-eu": "https://www.ovh.com/auth/oauth2/token",
        "ovh-ca": "https://ca.ovh.com/auth/oauth2/token",
        "ovh-us": "https://us.ovhcloud.com/auth/oauth2/token",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ovh-eu", "https://eu.api.ovh.com/1.0"),
        ("soyoustart-ca", "https://ca.api.soyoustart.com/1.0"),
        ("https://eu.api.ovh.com/1.0/", "https://eu.api.ovh.com/1.0"),
        ("http://127.0.0.1:20123/1.0", "http://127.0.0.1:20123/1.0"),
        ("http://localhost:20123", "http://localhost:20123"),
    ],
)
def test_resolve_endpoint(value: str, expected: str) -> None:
    assert resolve_endpoint(value) == expected


@pytest.mark.parametrize(
    "value", ["ovh-fr", "", "eu.api.ovh.com/1.0", "ftp://eu.api.ovh.com", "https://"]
)
def test_resolve_endpoint_names_the_bad_value_and_the_aliases(value: str) -> None:
    with pytest.raises(ValueError, match="unknown OVH endpoint") as caught:
        resolve_endpoint(value)
    message = str(caught.value)
    assert repr(value) in message
    assert "ovh-eu, ovh-ca, ovh-us, kimsufi-eu, kimsufi-ca, soyoustart-eu, soyoustart-ca" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ovh-eu", "https://www.ovh.com/auth/oauth2/token"),
        ("ovh-ca", "https://ca.ovh.com/auth/oauth2/token"),
        ("ovh-us", "https://us.ovhcloud.com/auth/oauth2/token"),
        ("kimsufi-eu", None),
        ("soyoustart-ca", None),
        ("http://127.0.0.1:20123/1.0", "http://127.0.0.1:20123/auth/oauth2/token"),
        ("https://sim.example.test/api/1.0/", "https://sim.example.test/auth/oauth2/token"),
    ],
)
def test_token_url_for(value: str, expected: str | None) -> None:
    assert token_url_for(value) == expected


def test_token_url_for_rejects_unknown_values() -> None:
    with pytest.raises(ValueError, match="'ovh-fr'"):
        token_url_for("ovh-fr")


def test_alias_base_urls_written_out_keep_their_token_urls() -> None:
    assert token_url_for("https://eu.api.ovh.com/1.0") == "https://www.ovh.com/auth/oauth2/token"
    assert token_url_for("https://ca.api.ovh.com/1.0/") == "https://ca.ovh.com/auth/oauth2/token"
    assert token_url_for("https://eu.api.kimsufi.com/1.0") is None


@pytest.mark.parametrize("value", ["http://127.0.0.1:8080/1.0 x", " https://eu.api.ovh.com/1.0"])
def test_urls_with_white_space_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="unknown OVH endpoint"):
        resolve_endpoint(value)
