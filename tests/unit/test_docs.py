"""The docs say each thing once, and what they show of the code is the code's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import drivers
from drivers import distance
from drivers import options as board_options

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT_BYTES = 12_000


def test_the_readme_stays_short() -> None:
    assert (ROOT / "README.md").stat().st_size <= README_LIMIT_BYTES


def test_the_readme_runs_the_tests_as_ci_does() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "\n    ./install.sh --sim && .venv/bin/python -m pytest\n" in readme
    assert "\n    ./install.sh --sim && .venv/bin/robot sim\n" in readme


@pytest.mark.parametrize("name", drivers.board_names())
def test_the_boards_doc_holds_each_boards_declared_options(name: str) -> None:
    page = (ROOT / "docs" / "boards.md").read_text()
    table = board_options.markdown_table(drivers.board(name).options)
    assert f"\n{table}\n" in page


@pytest.mark.parametrize("name", distance.sensor_names())
def test_the_boards_doc_holds_each_distance_sensors_declared_options(name: str) -> None:
    page = (ROOT / "docs" / "boards.md").read_text()
    table = board_options.markdown_table(distance.kind(name).options)
    assert f"\n{table}\n" in page


def _read_options(
    name: str, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Every option the board's code reads from ``options``, with the default it uses."""
    read: dict[str, Any] = {}
    get = board_options.BoardOptions.get

    def recording(self: Any, key: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        read[key] = default
        return get(self, key, default, *args, **kwargs)

    monkeypatch.setattr(board_options.BoardOptions, "get", recording)
    drivers.board(name).check_options(options)
    return read


@pytest.mark.parametrize("name", drivers.board_names())
def test_each_board_declares_the_options_its_code_reads(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = {option.name: option.default for option in drivers.board(name).options}
    read = _read_options(name, {}, monkeypatch)
    assert read == declared


def test_the_phase_enable_pins_are_described_with_their_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read = _read_options("gpiozero", {"bridge": "phase-enable"}, monkeypatch)
    bridge = next(o for o in drivers.board("gpiozero").options if o.name == "bridge")
    for key in read.keys() - {"bridge", "pwm", "invert_left", "invert_right"}:
        assert f"`{key}` ({read[key]})" in bridge.meaning
