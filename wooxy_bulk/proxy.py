"""HTTPS through a company's proxy: which one (HTTPS_PROXY, NO_PROXY), and its CONNECT tunnel.

`open_tunnel` leaves a plain connection to the API's host and port through an http:// proxy;
`transport.HttpPool` then speaks TLS (verified against the API's name) and HTTP inside it.
"""

from __future__ import annotations

import asyncio
import base64
import urllib.request
from urllib.parse import unquote, urlsplit

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})  # this machine: never proxied
_MAX_HEAD = 65536


class TunnelFailed(ConnectionError):
    """The proxy refused or dropped the tunnel; nothing was sent to the API."""


def environment_proxy(host: str) -> str | None:
    """The proxy for https to `host`: HTTPS_PROXY unless NO_PROXY lists it; never for loopback."""
    if host in LOOPBACK:
        return None
    proxies = urllib.request.getproxies_environment()
    if "https" not in proxies or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    return proxies["https"]


def proxy_url(proxy: str) -> str:
    """The proxy's URL, http:// added where it has no scheme; ValueError (password unshown)."""
    url = proxy if "://" in proxy else f"http://{proxy}"
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"HTTPS_PROXY: {parts.hostname or 'the proxy'}: use an http:// proxy URL")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError(f"HTTPS_PROXY: {parts.hostname}: invalid port") from None
    return url


async def open_tunnel(proxy: str, host: str, port: int) -> asyncio.Transport:
    """A connection to host:port through the proxy at the `proxy_url` `proxy`, ready for TLS.

    Raises TunnelFailed when the proxy refuses (its status line is in the message) or hangs up,
    and OSError when it cannot be reached.
    """
    parts = urlsplit(proxy)
    where = f"the proxy {parts.hostname}:{parts.port or 80}"
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        lines.append(f"Proxy-Authorization: Basic {base64.b64encode(user.encode()).decode()}")
    loop = asyncio.get_running_loop()
    raw, answer = await loop.create_connection(_ProxyAnswer, parts.hostname, parts.port or 80)
    try:
        raw.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await answer.head
        if head is None:
            raise TunnelFailed(f"{where} closed the tunnel to {target}")
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["200"]:
            raise TunnelFailed(f"{where} refused the tunnel to {target}: {status}")
    except BaseException:
        raw.abort()
        raise
    return raw


class _ProxyAnswer(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT up to the blank line after its head (None: it hung
    up or sent too much)."""

    def __init__(self) -> None:
        self.head: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        if self.head.done():
            return
        self._buffer += data
        if b"\r\n\r\n" in self._buffer:
            self.head.set_result(self._buffer)
        elif len(self._buffer) > _MAX_HEAD:
            self.head.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head.done():
            self.head.set_result(None)
