"""Who sent a request: the TCP peer, or what a trusted reverse proxy says.

`X-Forwarded-For` and `X-Request-ID` are claims; anyone can send them. They are believed
only when the TCP peer (REMOTE_ADDR) is in ATHENS_TRUSTED_PROXIES (addresses or networks,
default none): a client that reaches the web servers directly, or through a proxy we did
not list, cannot choose the address the audit records, pass the loopback check of
/metrics, or pose as another build's request id (issue 21).

The client address behind trusted proxies is the standard "rightmost untrusted" one:
X-Forwarded-For is read from the right (the hop nearest to us) and trusted proxies are
skipped; the first address that is not one of ours is the client. A value that is not an
address stops the walk at the last address we could check, and the header itself is kept
as text in the audit beside it, so a row is never lost to a bad header.

No model imports at module level: settings loads parse_networks().
"""

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str, *, setting: str = "ATHENS_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """`10.0.0.5, 172.30.240.0/24, ::1` -> networks; a bad entry fails start-up."""
    networks = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{setting}: {part!r} is not an IP address or network (e.g. 172.30.240.10 or 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address) -> bool:
    return address is not None and any(address in network for network in settings.ATHENS_TRUSTED_PROXIES)


@dataclass(frozen=True)
class Client:
    address: str | None  # what the audit records: an IP address, or None if unknown
    via_trusted_proxy: bool  # the TCP peer is one of ATHENS_TRUSTED_PROXIES
    forwarded_for: str  # the X-Forwarded-For header as received ("" if none), for the audit


def client(request) -> Client:
    """The request's client, computed once per request."""
    found = getattr(request, "_athens_client", None)
    if found is None:
        found = request._athens_client = _client(request.META)
    return found


def client_address(request) -> str | None:
    """The client's address alone (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return client(request).address


def _client(meta) -> Client:
    peer = _address(meta.get("REMOTE_ADDR") or "")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if not _trusted(peer):
        return Client(str(peer) if peer else None, False, forwarded)
    current = peer
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(hop)
        if address is None:
            break  # not an address: keep the last one we could check
        current = address
        if not _trusted(address):
            break
    return Client(str(current), True, forwarded)
