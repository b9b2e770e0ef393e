"""API URLs normalised, so that two spellings of one server are one journal scope and one account.

``http://LocalHost:8025/v3/`` and ``http://127.0.0.1:8025/v3`` are the same server: the scheme and
host are lower-cased, the default port is written out, the trailing slash goes, and every loopback
host (``localhost``, 127.0.0.0/8, ``::1``) is written ``localhost``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

SANDBOX = "sandbox"  # the scope of `run --sandbox`, whatever port its sandbox listens on
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAME = "localhost"


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine."""
    host = host.strip("[]").rstrip(".").lower()
    if host == _LOOPBACK_NAME or host.endswith("." + _LOOPBACK_NAME):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def origin(url: str) -> str:
    """``scheme://host:port`` of `url`, normalised (see the module's docstring)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if is_loopback_host(host):
        host = _LOOPBACK_NAME
    elif ":" in host:
        host = f"[{host}]"
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


def scope(url: str) -> str:
    """The journal scope of an API URL: its origin and its path without a trailing slash."""
    return origin(url) + urlsplit(url.strip()).path.rstrip("/")


def is_loopback_scope(value: str) -> bool:
    """Whether a journal scope is a rehearsal: the sandbox, or a server on this machine."""
    return value == SANDBOX or is_loopback_host(urlsplit(value).hostname or "")
