"""Which remote ICE candidates the producer checks: a viewer's candidate names an address the
robot then sends connectivity checks to, so a viewer could aim the robot's packets at any
host of its network, or at a whole group of them. Refused (never checked):

- multicast (224.0.0.0/4, ff00::/8), broadcast (255.255.255.255) and unspecified (0.0.0.0/8,
  ``::``) addresses: none is one peer;
- link-local addresses (169.254.0.0/16, fe80::/10): the robot's own segment's services, the
  cloud metadata address 169.254.169.254 among them, never a viewer;
- loopback (127.0.0.0/8, ``::1``): the robot itself, unless ``loopback`` (the simulator, whose
  viewers run on the same machine);
- names other than a browser's mDNS ``<uuid>.local``: a DNS name may point anywhere.

Private addresses (10/8, 172.16/12, 192.168/16, fc00::/7) stay allowed: an operator on the
robot's own network connects directly. The number of candidates per peer is capped apart
(robot/producer/slots.py).
"""

from __future__ import annotations

import ipaddress

BROADCAST = ipaddress.IPv4Address("255.255.255.255")
THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")


def allowed(address: str, loopback: bool = False) -> bool:
    """Whether the producer may send checks to a candidate naming ``address``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address.endswith(".local") and "/" not in address
    if ip.version == 6 and ip.ipv4_mapped is not None:  # type: ignore[union-attr]
        ip = ip.ipv4_mapped  # type: ignore[union-attr]
    if ip.is_multicast or ip.is_unspecified or ip.is_link_local or ip == BROADCAST:
        return False
    if ip.version == 4 and ip in THIS_NETWORK:
        return False
    return loopback or not ip.is_loopback


def candidate_address(line: str) -> str | None:
    """The address of a ``candidate:`` attribute (``a=`` optional), or None if it has none."""
    fields = line.removeprefix("a=").split()
    return fields[4] if len(fields) > 4 and fields[0].startswith("candidate:") else None


def filter_sdp(sdp: str, loopback: bool = False) -> str:
    """``sdp`` without the ``a=candidate`` lines whose address is not :func:`allowed`."""
    lines = sdp.split("\r\n")
    kept = [
        line
        for line in lines
        if not line.startswith("a=candidate:") or allowed(candidate_address(line) or "", loopback)
    ]
    return "\r\n".join(kept)
