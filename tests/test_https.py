"""The proxy the environment names for a URL (env_proxy), as curl and urllib read it."""

from __future__ import annotations

import os

import pytest
from yarl import URL

from wooxy_bulk.send.https import env_proxy

API = "https://api.wooxy.com/v3/sms/send"
AUTH = {"Proxy-Authorization": "Basic bWU6cHc="}  # me:pw


@pytest.mark.parametrize(
    ("environment", "url", "expected"),
    [
        ({}, API, (None, None)),
        ({"HTTPS_PROXY": "http://proxy.corp:3128"}, API, ("http://proxy.corp:3128", None)),
        ({"https_proxy": "http://me:pw@proxy.corp:3128"}, API, ("http://proxy.corp:3128", AUTH)),
        (
            {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128"},
            API,
            ("http://lower:3128", None),
        ),
        ({"HTTP_PROXY": "http://proxy.corp:3128"}, API, (None, None)),  # another scheme's
        ({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "wooxy.com"}, API, (None, None)),
        ({"HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": "*"}, API, (None, None)),
        (
            {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "other.example"},
            API,
            ("http://proxy.corp:3128", None),
        ),
        ({"HTTP_PROXY": "http://proxy.corp:3128"}, "http://127.0.0.1:8025/v3", (None, None)),
        ({"HTTP_PROXY": "http://proxy.corp:3128"}, "http://localhost:8025/v3", (None, None)),
        ({"HTTPS_PROXY": "http://proxy.corp:3128"}, "https://[::1]:8025/v3", (None, None)),
    ],
)
def test_env_proxy(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    url: str,
    expected: tuple[str | None, dict[str, str] | None],
) -> None:
    """HTTPS_PROXY/HTTP_PROXY by the URL's scheme (lower case first), its user:password as
    Proxy-Authorization (not in the proxy URL), none for NO_PROXY's hosts or loopback."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    proxy, headers = env_proxy(URL(url))
    assert (None if proxy is None else str(proxy), headers) == expected
