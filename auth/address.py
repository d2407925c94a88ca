"""Who is at the other end: the connection's address, or what a trusted reverse proxy says it is.

Behind a proxy every request comes from the proxy's address, and throttling it would throttle everyone;
its X-Forwarded-For names the client. The header is believed only on a connection from a configured
trusted proxy (P06_TRUSTED_PROXIES): anyone else could write any address in it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "X-Forwarded-For"


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The networks of P06_TRUSTED_PROXIES (comma-separated addresses or networks; validated by the settings)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then, walking X-Forwarded-For
    from the right (each proxy appends the address it saw), the first one that is not a trusted proxy."""
    address = peer or "unknown"
    if not trusted or not forwarded_for or not _trusted(address, trusted):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        address = hop
        if not _trusted(hop, trusted):
            break
    return address
