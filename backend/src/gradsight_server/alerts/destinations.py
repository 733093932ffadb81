"""Where alerts may go. A project admin chooses the URL and the server makes the request, so a
destination on the server's own network (loopback, private, link-local: cloud metadata at
169.254.169.254) is refused unless ``GRADSIGHT_WEBHOOK_ALLOW_PRIVATE`` is set. The check
resolves the name at send time; a name that resolves differently between the check and the
connection (DNS rebinding) is not caught, which is why the setting exists at all."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from gradsight_server.errors import Invalid

UNRESOLVED = "cannot resolve"


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL without credentials; raises Invalid otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        raise Invalid("url", f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url", "use an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise Invalid("url", "put credentials in the path or a signing secret, not in the URL")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Invalid("url", "the URL may not contain spaces or control characters")
    return url


def masked(url: str) -> str:
    """Scheme and host: the path of a Slack-style webhook is the credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path not in ("", "/") or parts.query else url


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def refuse_private(url: str) -> str | None:
    """Why the destination may not be reached (a private address), or None if it may."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"{UNRESOLVED} {host}: {exc.strerror or exc}"
    for info in infos:
        if _private(str(info[4][0])):
            return (
                f"{host} resolves to a private address ({info[4][0]}); "
                "set GRADSIGHT_WEBHOOK_ALLOW_PRIVATE=true to allow it"
            )
    return None


def obviously_private(url: str) -> bool:
    """Refused when the webhook is created: an IP literal or ``localhost`` that is private.
    Names are checked again, resolved, at every send."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return _private(host)
    except ValueError:
        return False
