"""Where a secret may go: origins of URLs, compared the way browsers and RFC 6454 compare them.

A token is issued for one resource and a model key is entered for one endpoint; both are bound to the origin
(scheme, host, port) they were given for, and the host sends them nowhere else. Kept free of heavy imports:
the host's start-up path reads configuration through here.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """``scheme://host[:port]`` in canonical form: lower case, default ports left out, IPv6 in brackets.

    Raises ValueError for anything that is not an absolute http(s) URL with a host.
    """
    parts = urlsplit(str(url).strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or _DEFAULT_PORTS[scheme]
    return f"{scheme}://{host}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


def same_origin(a: str | None, b: str | None) -> bool:
    """Whether two URLs share an origin; False when either is missing or not an http(s) URL."""
    if not a or not b:
        return False
    try:
        return origin(a) == origin(b)
    except ValueError:
        return False


def is_loopback(url: str) -> bool:
    """Whether the URL names this machine (localhost, 127.0.0.0/8, ::1): traffic that never leaves it."""
    host = (urlsplit(str(url)).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_for_secrets(url: str) -> bool:
    """HTTPS anywhere, or plain HTTP to this machine only: a secret must not cross a network in the clear."""
    scheme = urlsplit(str(url)).scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback(url))
