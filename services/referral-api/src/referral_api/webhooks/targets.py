"""Where webhooks may go: public https addresses only, checked again at every send.

A webhook URL is chosen by a caller and fetched by this service from inside its
network, so without these checks it would reach loopback services, cloud
metadata (169.254.169.254) or the private network (server-side request forgery).
A name is resolved and every address it gives must be public; at send time the
request is pinned to the address just checked (Host header and TLS server name
keep the name), so a DNS answer that changes between check and connect (DNS
rebinding) reaches nothing else. `allow_private` (development, tests) lifts the
address checks and allows plain http.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

import httpx

from referral_api.webhooks.exceptions import WebhookTargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Names that only make sense inside a network (RFC 6761, RFC 6762, ICANN's .internal).
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# A DNS label as it may appear in a host name (IDNA already applied).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# No top-level domain is numeric: a host ending so is an address in a form the C
# resolver reads (127.1, 0x7f.1, 0177.0.0.1), never a name to look up.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


@dataclass(frozen=True)
class Target:
    """What to connect to; `server_name` is the URL's host when pinned to an address."""

    url: httpx.URL
    server_name: str | None = None
    host_header: str | None = None


def _parsed(url: str, *, allow_private: bool) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise WebhookTargetRefused("The webhook URL is not a valid URL.") from None
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parsed.scheme not in allowed_schemes:
        raise WebhookTargetRefused("The webhook URL must use https.")
    if not parsed.host:
        raise WebhookTargetRefused("The webhook URL has no host.")
    if parsed.userinfo:
        raise WebhookTargetRefused("The webhook URL must not carry credentials.")
    return parsed


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally reachable unicast: not loopback, private, link-local, unspecified, multicast…"""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if isinstance(address, ipaddress.IPv6Address) and (
        address.is_reserved or address.is_site_local
    ):
        # IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), local NAT64
        # and site-local forms: deprecated or network-local, yet Python calls some global.
        return False
    return address.is_global and not address.is_multicast


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_name(host: str) -> None:
    name = host.rstrip(".").lower()
    labels = name.split(".")
    if (
        len(labels) < 2
        or name == "localhost"
        or name.endswith(_LOCAL_SUFFIXES)
        or not all(_LABEL.fullmatch(label) for label in labels)
        or _NUMERIC_LABEL.fullmatch(labels[-1])
    ):
        raise WebhookTargetRefused("The webhook URL must name a public host.")


async def resolve(host: str, port: int, seconds: float) -> list[IPAddress]:
    """Every address `host` resolves to (empty if it does not resolve in time)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return []
    # The scope of a link-local IPv6 answer ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


def _ascii_host(parsed: httpx.URL) -> str:
    # IDNA-encoded: what DNS and TLS know the host as.
    return parsed.raw_host.decode("ascii")


async def _public_addresses(parsed: httpx.URL, seconds: float) -> list[IPAddress]:
    literal = _literal(parsed.host)
    if literal is not None:
        addresses = [literal]
    else:
        _check_name(_ascii_host(parsed))
        addresses = await resolve(_ascii_host(parsed), parsed.port or 443, seconds)
        if not addresses:
            raise WebhookTargetRefused("The webhook URL's host does not resolve.")
    # One private answer is enough to refuse: the connection may pick any of them.
    if not all(is_public(address) for address in addresses):
        raise WebhookTargetRefused(
            "The webhook URL leads to a loopback, private, link-local or otherwise "
            "non-public address."
        )
    return addresses


async def check(url: str, *, allow_private: bool, seconds: float) -> None:
    """Refuse (422) a URL webhooks must not be sent to."""
    parsed = _parsed(url, allow_private=allow_private)
    if not allow_private:
        await _public_addresses(parsed, seconds)


async def pinned(url: str, *, allow_private: bool, seconds: float) -> Target:
    """The URL checked again now, with its host replaced by the public address checked."""
    parsed = _parsed(url, allow_private=allow_private)
    if allow_private:
        return Target(url=parsed)
    address = (await _public_addresses(parsed, seconds))[0]
    if _literal(parsed.host) is not None:
        return Target(url=parsed)
    return Target(
        url=parsed.copy_with(host=str(address)),
        server_name=_ascii_host(parsed),
        host_header=parsed.netloc.decode("ascii"),
    )
