"""Which hosts `direct` may contact (ATHENS_DIRECT_HOSTS), by name and by address.

Empty (the default): any host whose addresses are all public (ipaddress' is_global:
not loopback, private, link-local, shared, reserved or multicast). Set to a list of
host globs (`git.corp.example.com,*.github.com`): only those hosts, and at whatever
address they resolve to, since an operator who names an internal git server means it.
Names are compared with ASCII case ignored, as DNS does.
"""

import ipaddress
import socket

from django.conf import settings

from modules.goproxy.patterns import fold_case, path_match

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(Exception):
    """This host may not be contacted; the message says why, in the proxy's words."""


class Unresolvable(EgressRefused):
    """The host has no address at all."""


def listed(host: str) -> bool:
    patterns = [fold_case(p.strip()) for p in settings.ATHENS_DIRECT_HOSTS.split(",") if p.strip()]
    return any(path_match(pattern, fold_case(host)) for pattern in patterns)


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def allowed_addresses(host: str, port: int) -> list[Address]:
    """The addresses of `host` that `direct` may connect to; raises EgressRefused.

    Every address the name resolves to must pass (a name with one public and one
    internal address is refused), so the caller may connect to any of them.
    """
    host = host.strip("[]")
    restricted = bool(settings.ATHENS_DIRECT_HOSTS.strip())
    if restricted and not listed(host):
        raise EgressRefused(f"{host} is not in ATHENS_DIRECT_HOSTS")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    if not restricted:
        internal = [str(a) for a in addresses if not is_public(a)]
        if internal:
            raise EgressRefused(
                f"{host} resolves to {', '.join(internal)}, not a public address; "
                "list it in ATHENS_DIRECT_HOSTS to allow it"
            )
    return addresses


def check_module_host(module: str) -> None:
    """Refuse a module path whose host may not be contacted, before the go command
    runs. Needed besides the egress proxy: Go's HTTP client never uses a proxy for
    `localhost` or a loopback address, so `127.0.0.1/x` would go straight there."""
    try:
        allowed_addresses(module.split("/", 1)[0], 443)
    except Unresolvable:
        # A name that does not resolve cannot be reached straight either; git may still
        # reach it through an operator's `insteadOf` rewrite (ATHENS_GIT_CONFIG). (A
        # host missing from a non-empty ATHENS_DIRECT_HOSTS is refused before any lookup.)
        pass
