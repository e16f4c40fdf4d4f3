"""Reading a producer's output: lines of any length in chunks of any size, and status lines."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from robot.contracts import signals
from robot.daemon.supervisor import _lines

MAX = 64


async def read_all(chunks: list[bytes], max_bytes: int = MAX) -> list[str]:
    stream = asyncio.StreamReader()
    for chunk in chunks:
        stream.feed_data(chunk)
    stream.feed_eof()
    return [line async for line in _lines(stream, max_bytes)]


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


text_lines = st.lists(st.text(alphabet="abc xyz-01\r", max_size=3 * MAX), max_size=8)


@settings(max_examples=500, deadline=None)
@given(text_lines, st.lists(st.integers(min_value=0), max_size=6))
def test_lines_come_out_whole_and_bounded(lines: list[str], cuts: list[int]) -> None:
    data = "".join(f"{line}\n" for line in lines).encode()
    read = asyncio.run(read_all(split(data, cuts)))
    # Each line once, cut to MAX bytes, whatever the chunking.
    assert read == [line[:MAX] for line in lines]


def test_a_last_line_without_newline_is_read() -> None:
    assert asyncio.run(read_all([b"one\ntwo"])) == ["one", "two"]


@given(st.integers(min_value=0, max_value=10), st.text(min_size=1, max_size=80))
def test_status_lines_read_back(viewers: int, reason: str) -> None:
    read = signals.classify_status_line
    assert read(signals.ready_line()) == signals.Signal("ready")
    assert read(signals.viewers_line(viewers)) == signals.Signal("viewers", viewers)
    fatal = read(signals.fatal_line(reason))
    assert fatal is not None and fatal.kind == "fatal" and "\n" not in str(fatal.value)


@given(st.text(max_size=100))
def test_other_output_is_not_a_signal(line: str) -> None:
    if not line.startswith(signals.PREFIX):
        assert signals.classify_status_line(line) is None
