"""The control socket between the daemon and our video producer: JSON objects, one a line,
both ways. The daemon sends every telemetry message it publishes, encoded once (the producer
passes each line as it is to the consoles on their data channels); the producer sends the
commands consoles send on their data channel, with what the operator's token grants and the
connection's round trip (``command_message``, read back by ``read_command``), and who
watches whenever that changes (``watchers_message``, read back by ``read_watchers``).

The supervisor makes one socketpair per run of the producer, which gets its end as an
inherited file descriptor (``--control-fd``). Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any

from robot.contracts.access import Grants

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 64 * 1024
# A side that stops reading loses messages beyond this; the sender never waits for it
# (commands never block motor control, telemetry never blocks the daemon).
MAX_BUFFERED_BYTES = 256 * 1024


class ControlSocket:
    """One end of the socket: ``send`` without waiting, ``messages()`` as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, sock: socket.socket) -> ControlSocket:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=MAX_LINE_BYTES)
        return cls(reader, writer)

    def send(self, message: dict[str, Any] | bytes) -> bool:
        """Queue one message (a dict, or one already encoded as compact JSON); False when it
        was dropped because the other end is gone or not keeping up."""
        if self._writer.is_closing():
            return False
        if self._writer.transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            return False
        if isinstance(message, dict):
            message = json.dumps(message, separators=(",", ":")).encode()
        self._writer.write(message + b"\n")
        return True

    async def lines(self) -> AsyncIterator[bytes]:
        """The other end's lines (without the newline) until it closes."""
        while True:
            try:
                line = await self._reader.readline()
            except ValueError:  # longer than MAX_LINE_BYTES: dropped by the reader
                log.warning("control socket: dropped a line over %d bytes", MAX_LINE_BYTES)
                continue
            except ConnectionError:
                return
            if not line:
                return
            yield line.rstrip(b"\n")

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """The other end's messages until it closes; unreadable lines are logged and skipped."""
        async for line in self.lines():
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict):
                yield message
            else:
                log.warning("control socket: not a JSON object: %.120r", line)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()


def command_message(
    payload: str, grants: Grants, round_trip_ms: float | None = None
) -> dict[str, Any]:
    """A console's command, with what its operator's token grants and, once measured, its
    connection's round trip."""
    message = {"type": "command", "payload": payload, "grants": grants.context()}
    return message if round_trip_ms is None else {**message, "round_trip_ms": round_trip_ms}


def watchers_message(subjects: Iterable[str]) -> dict[str, Any]:
    """The subjects of the welcomed consoles, all of them, each once."""
    return {"type": "watchers", "subjects": sorted(set(subjects))}


def read_watchers(message: dict[str, Any]) -> frozenset[str] | None:
    """The subjects of a ``watchers_message``; None for anything else (or a malformed one)."""
    subjects = message.get("subjects")
    if message.get("type") != "watchers" or not isinstance(subjects, list):
        return None
    if not all(isinstance(subject, str) for subject in subjects):
        return None
    return frozenset(subjects)


def read_command(message: dict[str, Any]) -> tuple[str, Grants, float | None] | None:
    """The payload, grants and round trip of a ``command_message``; None for anything else.
    Missing or malformed grants grant nothing (``Grants.from_context``); a malformed round
    trip is no measurement."""
    payload = message.get("payload")
    if message.get("type") != "command" or not isinstance(payload, str):
        return None
    round_trip = message.get("round_trip_ms")
    valid = isinstance(round_trip, int | float) and not isinstance(round_trip, bool)
    measured = float(round_trip) if valid and 0 <= round_trip < 1e6 else None
    return payload, Grants.from_context(message.get("grants")), measured
