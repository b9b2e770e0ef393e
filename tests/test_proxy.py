"""Which proxy the API is reached through: HTTPS_PROXY, NO_PROXY, loopback direct."""

from __future__ import annotations

import pytest

from wooxy_bulk.proxy import environment_proxy, proxy_url


@pytest.mark.parametrize(
    ("environment", "host", "proxy"),
    [
        ({"HTTPS_PROXY": "http://p:3128"}, "api.wooxy.com", "http://p:3128"),
        ({"https_proxy": "http://p:3128"}, "api.wooxy.com", "http://p:3128"),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "wooxy.com"}, "api.wooxy.com", None),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "*"}, "api.wooxy.com", None),
        ({"HTTPS_PROXY": "http://p:3128"}, "127.0.0.1", None),  # a sandbox: never proxied
        ({"HTTP_PROXY": "http://p:3128"}, "api.wooxy.com", None),  # http_proxy is for http
        ({}, "api.wooxy.com", None),
    ],
)
def test_environment_proxy(
    environment: dict[str, str], host: str, proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY (either case) unless NO_PROXY lists the host; loopback goes direct."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(host) == proxy


@pytest.mark.parametrize(
    ("proxy", "url"),
    [
        ("http://p:3128", "http://p:3128"),
        ("p:3128", "http://p:3128"),  # as curl: no scheme means http
        ("http://me:secret@p", "http://me:secret@p"),
    ],
)
def test_proxy_url_adds_the_scheme(proxy: str, url: str) -> None:
    """A proxy written without a scheme is an http:// one."""
    assert proxy_url(proxy) == url
