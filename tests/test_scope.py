"""API URLs normalised into journal scopes and account origins: one server, one spelling."""

from __future__ import annotations

import pytest

from wooxy_bulk.send.scope import SANDBOX, is_loopback_host, is_loopback_scope, origin, scope


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.wooxy.com/v3", "https://api.wooxy.com:443/v3"),
        ("https://API.Wooxy.com:443/v3/", "https://api.wooxy.com:443/v3"),
        ("HTTPS://api.wooxy.com./v3", "https://api.wooxy.com:443/v3"),
        ("https://api.wooxy.com:8443/v3", "https://api.wooxy.com:8443/v3"),
        ("http://proxy.example.com/v3", "http://proxy.example.com:80/v3"),
        ("http://localhost:8025/v3/", "http://localhost:8025/v3"),
        ("http://127.0.0.1:8025/v3", "http://localhost:8025/v3"),
        ("http://127.1.2.3:8025/v3", "http://localhost:8025/v3"),
        ("http://[::1]:8025/v3", "http://localhost:8025/v3"),
        ("http://[::ffff:127.0.0.1]:8025/v3", "http://localhost:8025/v3"),
        ("http://LocalHost:8025/v3", "http://localhost:8025/v3"),
        ("https://[2001:db8::1]/v3", "https://[2001:db8::1]:443/v3"),
        ("https://api.wooxy.com", "https://api.wooxy.com:443"),
        ("https://api.wooxy.com/", "https://api.wooxy.com:443"),
    ],
)
def test_scope_is_the_url_normalised(url: str, expected: str) -> None:
    """Scheme and host lower-cased, default port written out, no trailing slash, loopback one."""
    assert scope(url) == expected


def test_origin_leaves_the_path_out() -> None:
    """The origin (what an account's slots are keyed by) is scheme, host and port."""
    assert origin("http://127.0.0.1:8025/v3/") == origin("http://localhost:8025/other")
    assert origin("https://api.wooxy.com/v3") == "https://api.wooxy.com:443"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("api.localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("api.wooxy.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """localhost, 127.0.0.0/8 and ::1 are this machine; nothing else is."""
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("value", "loopback"),
    [
        (SANDBOX, True),
        ("http://localhost:8025/v3", True),
        ("https://api.wooxy.com:443/v3", False),
    ],
)
def test_rehearsal_scopes(value: str, loopback: bool) -> None:
    """The sandbox and loopback servers are rehearsals; anything else may be a real API."""
    assert is_loopback_scope(value) is loopback
