"""The command protocol: what parses, what is rejected and why."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.contracts.protocol import (
    DISCRETE_ACTIONS,
    MAX_ID_LENGTH,
    MAX_PAYLOAD_BYTES,
    Command,
    ProtocolError,
    parse,
)
from tests.unit.conftest import PROPERTY, command_like, commands


def payload(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize("action", DISCRETE_ACTIONS)
def test_the_samples_actions_parse(action: str) -> None:
    assert parse(payload(action=action)) == Command(action)


def test_drive_parses_with_every_optional_field() -> None:
    command = parse(
        payload(
            action="drive",
            linear=0.5,
            angular=-0.25,
            speed=0.8,
            ttl_ms=300,
            id="cmd-1",
            ts=1_700_000_000_000,
        )
    )
    assert command == Command("drive", 0.5, -0.25, 0.8, 300, "cmd-1", 1_700_000_000_000)


def test_text_bytes_and_objects_parse_alike() -> None:
    fields = {"action": "drive", "linear": 1, "angular": 0}
    as_bytes, as_text, as_dict = (
        parse(json.dumps(fields).encode()),
        parse(json.dumps(fields)),
        parse(fields),
    )
    assert as_bytes == as_text == as_dict
    assert isinstance(as_dict.linear, float)


def test_a_payload_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    body = payload(action="stop")
    exact = body + b" " * (MAX_PAYLOAD_BYTES - len(body))
    assert parse(exact) == Command("stop")
    with pytest.raises(ProtocolError, match=f"the limit is {MAX_PAYLOAD_BYTES}"):
        parse(exact + b" ")


def test_an_id_of_the_longest_allowed_length_is_accepted() -> None:
    assert parse(payload(action="stop", id="x" * MAX_ID_LENGTH)).id == "x" * MAX_ID_LENGTH


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # not JSON, not an object
        (b"", "not valid JSON"),
        (b"forward", "not valid JSON"),
        (b'{"action": "forward"', "not valid JSON"),
        (b'{"action": "\xff\xfe"}', "not UTF-8"),
        (b"\xc3\x28", "not UTF-8"),
        # UTF-8 only: no byte order mark, no UTF-16 or UTF-32 (json.loads on bytes guesses them)
        (b"\xef\xbb\xbf" + payload(action="stop"), "byte order mark"),
        ("\ufeff" + json.dumps({"action": "stop"}), "byte order mark"),
        (json.dumps({"action": "forward"}).encode("utf-16"), "not UTF-8"),
        (json.dumps({"action": "forward"}).encode("utf-16-le"), "not valid JSON"),
        (json.dumps({"action": "forward"}).encode("utf-32"), "not UTF-8"),
        (json.dumps({"action": "forward"}).encode("utf-32-be"), "not valid JSON"),
        # no key twice (json.loads keeps the last one), in the command or nested
        (b'{"action": "stop", "action": "forward"}', '"action" appears more than once'),
        (b'{"action": "stop", "id": "a", "id": "b"}', '"id" appears more than once'),
        (b'{"action": "stop", "x": {"k": 1, "k": 2}}', '"k" appears more than once'),
        # null is not "left out"
        (payload(action="forward", speed=None), '"speed" is null'),
        (payload(action="forward", id=None), '"id" is null'),
        (payload(action="forward", ts=None), '"ts" is null'),
        (payload(action="forward", ttl_ms=None), '"ttl_ms" is null'),
        (payload(action="drive", linear=None, angular=0), '"linear" is null'),
        (b"[]", "must be a JSON object"),
        (b'"forward"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"[" * MAX_PAYLOAD_BYTES, "too deeply"),
        (payload(action="stop", id="x" * MAX_PAYLOAD_BYTES), f"the limit is {MAX_PAYLOAD_BYTES}"),
        # action
        (payload(action="fly"), 'unknown action "fly"'),
        (payload(action="FORWARD"), 'unknown action "FORWARD"'),
        (payload(linear=0.5), 'missing "action"'),
        ('{"action": 5}', '"action" must be a string'),
        (payload(action=5), '"action"'),
        (payload(action=None), '"action"'),
        (payload(action=["forward"]), '"action"'),
        (payload(action="forward", colour="red"), "unknown field(s): colour"),
        (payload(action="forward", Speed=0.5, zz=1), "unknown field(s): Speed, zz"),
        # non-finite numbers, as JSON literals and as a float too large to hold
        (b'{"action": "drive", "linear": NaN, "angular": 0}', "NaN"),
        (b'{"action": "drive", "linear": 0, "angular": Infinity}', "Infinity"),
        (b'{"action": "forward", "speed": -Infinity}', "-Infinity"),
        (b'{"action": "drive", "linear": 1e400, "angular": 0}', '"linear" is inf'),
        (b'{"action": "drive", "linear": 0, "angular": -1e400}', '"angular" is -inf'),
        (b'{"action": "forward", "speed": 1e400}', '"speed" is inf'),
        (b'{"action": "forward", "ttl_ms": 1e400}', '"ttl_ms" must be a whole number'),
        (b'{"action": "forward", "ts": 1e400}', '"ts" must be a whole number'),
        # out of range
        (payload(action="drive", linear=1.5, angular=0), '"linear" is 1.5'),
        (payload(action="drive", linear=0, angular=-1.01), '"angular" is -1.01'),
        (payload(action="drive", linear=10**400, angular=0), '"linear" is 1000'),
        (payload(action="forward", speed=-0.1), '"speed" is -0.1'),
        (payload(action="forward", speed=1.1), '"speed" is 1.1'),
        (payload(action="forward", ttl_ms=49), '"ttl_ms" is 49'),
        (payload(action="forward", ttl_ms=5001), '"ttl_ms" is 5001'),
        (payload(action="forward", ts=-1), '"ts" is -1'),
        # booleans and other wrong types
        (payload(action="drive", linear=True, angular=0), '"linear" must be a number'),
        (payload(action="drive", linear=0, angular=False), '"angular" must be a number'),
        (payload(action="forward", speed=True), '"speed" must be a number'),
        (payload(action="forward", ttl_ms=True), '"ttl_ms" must be a whole number'),
        (payload(action="forward", ts=False), '"ts" must be a whole number'),
        (payload(action="drive", linear="0.5", angular=0), '"linear" must be a number'),
        (payload(action="forward", speed=[0.5]), '"speed" must be a number'),
        (payload(action="forward", ttl_ms=100.5), '"ttl_ms" must be a whole number'),
        (payload(action="forward", ttl_ms="100"), '"ttl_ms" must be a whole number'),
        (payload(action="forward", ts=1.5), '"ts" must be a whole number'),
        # id
        (payload(action="stop", id=""), '"id" must be a printable string'),
        (payload(action="stop", id="x" * (MAX_ID_LENGTH + 1)), '"id" must be a printable string'),
        (payload(action="stop", id="line\nbreak"), '"id" must be a printable string'),
        (payload(action="stop", id="\x00"), '"id" must be a printable string'),
        (payload(action="stop", id=7), '"id" must be a printable string'),
        # linear/angular belong to drive, and drive needs both
        (payload(action="drive"), '"drive" needs both'),
        (payload(action="drive", linear=0.5), '"drive" needs both'),
        (payload(action="drive", angular=0.5), '"drive" needs both'),
        (payload(action="forward", linear=0.5), 'belong to "drive", not "forward"'),
        (payload(action="stop", angular=0.0), 'belong to "drive", not "stop"'),
        # a latch holds until cleared: no speed, no TTL, not even in range
        (payload(action="estop", speed=0.5), '"estop" takes no "speed" or "ttl_ms"'),
        (payload(action="estop", ttl_ms=500), '"estop" takes no "speed" or "ttl_ms"'),
        (payload(action="clear_estop", speed=0), '"clear_estop" takes no "speed" or "ttl_ms"'),
        (payload(action="clear_estop", ttl_ms=50), '"clear_estop" takes no "speed"'),
        (payload(action="estop", linear=0, angular=0), 'belong to "drive", not "estop"'),
        # one past each bound
        (payload(action="forward", ts=2**53 + 1), '"ts" is 9007199254740993'),
        (payload(action="forward", speed=1.0000001), '"speed" is 1'),
        (payload(action="drive", linear=-1.0000001, angular=0), '"linear" is -1'),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else None,
)
def test_bad_input_is_rejected_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


@pytest.mark.parametrize(
    "fields",
    [
        {1: "forward"},
        {"action": "drive", "linear": math.nan, "angular": 0.0},
        {"action": "forward", "speed": math.inf},
    ],
)
def test_objects_from_python_are_checked_like_json(fields: dict[Any, Any]) -> None:
    with pytest.raises(ProtocolError, match=r"\S"):
        parse(fields)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (payload(action="stop", **{'a"\nb': 1}), 'unknown field(s): a\\"\\nb'),
        (payload(action="fly\u202e\x1b[31m"), 'unknown action "fly\\u202e\\u001b[31m"'),
        (b'{"action": "stop", "\\r\\n": 1, "\\r\\n": 2}', '"\\r\\n" appears more than once'),
    ],
)
def test_what_the_sender_wrote_is_escaped_in_the_reason(raw: bytes, escaped: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(raw)
    assert escaped in caught.value.reason
    assert caught.value.reason.isascii() and caught.value.reason.isprintable()


def test_only_a_few_unknown_names_are_named() -> None:
    with pytest.raises(ProtocolError, match="unknown field\\(s\\): a0, a1, a2, a3, a4 and 3 more"):
        parse({"action": "stop", **{f"a{n}": 1 for n in range(8)}})


def test_text_with_a_lone_surrogate_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        parse("\ud800")


# --- properties ----------------------------------------------------------------------------


@PROPERTY
@given(
    st.binary(max_size=2 * MAX_PAYLOAD_BYTES)
    | st.text(max_size=MAX_PAYLOAD_BYTES)
    | command_like.map(json.dumps)
)
def test_any_input_parses_or_raises_protocol_error(raw: bytes | str) -> None:
    try:
        parse(raw)
    except ProtocolError as exc:
        assert exc.reason.strip()


@PROPERTY
@given(commands())
def test_a_command_survives_a_round_trip_through_json(command: Command) -> None:
    assert parse(command.to_json()) == command
    assert parse(command.to_json().encode()) == command


@PROPERTY
@given(commands(with_ts=False))
def test_with_id_keeps_a_given_id_and_adds_a_fresh_one_otherwise(command: Command) -> None:
    named = command.with_id()
    if command.id is not None:
        assert named is command
    else:
        assert named == replace(command, id=named.id)
        assert named.id
        assert command.with_id().id != named.id


# The accepted side, written out: each payload at a bound and the command it must give.
ACCEPTED = [
    ({"action": "stop"}, Command("stop")),
    ({"action": "estop", "id": "e"}, Command("estop", id="e")),
    ({"action": "clear_estop"}, Command("clear_estop")),
    ({"action": "drive", "linear": 1, "angular": -1}, Command("drive", linear=1.0, angular=-1.0)),
    ({"action": "drive", "linear": -1.0, "angular": 1.0}, Command("drive", linear=-1, angular=1)),
    ({"action": "drive", "linear": 0, "angular": -0.0}, Command("drive", linear=0, angular=0)),
    ({"action": "forward", "speed": 0}, Command("forward", speed=0.0)),
    ({"action": "backwards", "speed": 1}, Command("backwards", speed=1.0)),
    ({"action": "left", "ttl_ms": 50}, Command("left", ttl_ms=50)),
    ({"action": "right", "ttl_ms": 5000}, Command("right", ttl_ms=5000)),
    ({"action": "forward", "ts": 0}, Command("forward", ts=0)),
    ({"action": "forward", "ts": 2**53}, Command("forward", ts=2**53)),
    ({"action": "stop", "id": "x" * MAX_ID_LENGTH}, Command("stop", id="x" * MAX_ID_LENGTH)),
    ({"action": "stop", "id": "é ü"}, Command("stop", id="é ü")),
    (
        {"action": "stop", "operator": "ana", "received_ts": 1},
        Command("stop", operator="ana", received_ts=1),
    ),
]


@pytest.mark.parametrize(("fields", "expected"), ACCEPTED, ids=lambda v: str(v)[:40])
def test_each_bound_is_accepted_as_written(fields: dict[str, Any], expected: Command) -> None:
    assert parse(json.dumps(fields)) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"action": "request_control"}, Command("request_control")),
        ({"action": "release_control", "id": "r"}, Command("release_control", id="r")),
        ({"action": "take_control"}, Command("take_control")),
        ({"action": "accept_control", "to": "bob"}, Command("accept_control", to="bob")),
        ({"action": "decline_control", "to": "bob"}, Command("decline_control", to="bob")),
    ],
)
def test_the_session_actions_parse(fields: dict[str, Any], expected: Command) -> None:
    assert parse(payload(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": "accept_control"}, '"accept_control" needs "to"'),
        ({"action": "decline_control", "to": ""}, '"to" must be a printable string'),
        ({"action": "request_control", "to": "bob"}, '"to" belongs to accept_control'),
        ({"action": "forward", "to": "bob"}, '"to" belongs to'),
        ({"action": "take_control", "ttl_ms": 100}, "moves no wheels"),
        ({"action": "request_control", "speed": 1}, "moves no wheels"),
        ({"action": "release_control", "linear": 0, "angular": 0}, '"linear" and "angular"'),
    ],
)
def test_session_actions_are_read_strictly(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        parse(payload(**fields))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"action": "audio"}', '"audio" needs "volume"'),
        ('{"action": "audio", "volume": 101}', '"volume" is 101'),
        ('{"action": "audio", "volume": 50.5}', '"volume" must be a whole number'),
        ('{"action": "audio", "mic": "off"}', '"mic" must be true or false'),
        ('{"action": "audio", "volume": 5, "ttl_ms": 100}', "takes no"),
        ('{"action": "forward", "volume": 5}', 'belong to "audio"'),
    ],
)
def test_a_bad_audio_command_is_refused_with_its_reason(payload: str, reason: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(reason)):
        parse(payload)


def test_an_audio_command_carries_volume_and_microphone() -> None:
    command = parse('{"action": "audio", "volume": 0, "mic": false}')
    assert (command.volume, command.mic) == (0, False)
    assert parse(command.to_json()) == command
