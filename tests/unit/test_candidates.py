"""Which viewer ICE candidates the producer checks (robot/producer/candidates.py): a table of
addresses and verdicts, each class at its edges, and the offer's own candidate lines."""

from __future__ import annotations

import pytest

from robot.producer.candidates import allowed, candidate_address, filter_sdp

TABLE = [
    # address, allowed without loopback, allowed with loopback (the simulator)
    ("192.168.1.20", True, True),
    ("10.0.0.1", True, True),
    ("172.16.0.1", True, True),
    ("203.0.113.7", True, True),
    ("2001:db8::1", True, True),
    ("fd00::1", True, True),
    ("4f1b2c3d-1111-2222-3333-444455556666.local", True, True),
    ("127.0.0.1", False, True),
    ("127.255.255.254", False, True),
    ("::1", False, True),
    ("::ffff:127.0.0.1", False, True),
    ("169.254.169.254", False, False),
    ("169.254.0.0", False, False),
    ("169.254.255.255", False, False),
    ("169.253.255.255", True, True),
    ("169.255.0.0", True, True),
    ("fe80::1", False, False),
    ("224.0.0.1", False, False),
    ("239.255.255.250", False, False),
    ("223.255.255.255", True, True),
    ("ff02::1", False, False),
    ("255.255.255.255", False, False),
    ("0.0.0.0", False, False),
    ("0.1.2.3", False, False),
    ("::", False, False),
    ("::ffff:169.254.169.254", False, False),
    ("metadata.google.internal", False, False),
    ("evil.example", False, False),
    ("", False, False),
]


@pytest.mark.parametrize(("address", "plain", "local"), TABLE)
def test_each_address_class_at_its_edges(address, plain, local):
    assert allowed(address) is plain
    assert allowed(address, loopback=True) is local


def test_the_offers_own_candidate_lines_are_filtered_too():
    lines = [
        "v=0",
        "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host",
        "a=candidate:2 1 udp 2122260223 169.254.169.254 80 typ host",
        "a=candidate:3 1 udp 2122260223 224.0.0.251 5353 typ host",
        "a=candidate:4 1 udp 2122260223 127.0.0.1 9 typ host",
        "a=end-of-candidates",
    ]
    sdp = "\r\n".join(lines) + "\r\n"
    assert filter_sdp(sdp) == "\r\n".join([lines[0], lines[1], lines[5]]) + "\r\n"
    assert filter_sdp(sdp, loopback=True) == "\r\n".join([*lines[:2], *lines[4:]]) + "\r\n"
    assert candidate_address("candidate:1 1 udp 1 10.0.0.1 9 typ host") == "10.0.0.1"
    assert candidate_address("candidate:1 1 udp") is None
