"""config.json: a good one loads; a bad one is reported whole, each problem with key and value."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from robot import cli
from robot.cli.examine import examine
from robot.contracts import video
from robot.daemon import config as config_module
from robot.daemon.config import DEFAULTS, REQUIRED_KEYS, ConfigError, load
from tests.unit.conftest import REMOVE, sample_config, write_config


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={} if environ is None else environ)
    assert str(path) in str(caught.value)
    return caught.value.problems


def test_a_valid_config_loads(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        IOT_CORE_PORT=REMOVE,
        DEFAULT_SPEED=0.75,
        MOTOR_OPTIONS={"sim": {"top_speed": 0.8}},
    )
    config = load(path, environ={})
    sample = sample_config()
    assert config.path == path
    assert config.thing_name == sample["IOT_THINGNAME"]
    assert config.endpoint == sample["IOT_CORE_ENDPOINT"]
    assert config.port == DEFAULTS["IOT_CORE_PORT"]
    assert config.default_speed == 0.75
    assert config.command_ttl_ms == sample["COMMAND_TTL_MS"]
    assert config.motor_driver == "sim"
    assert config.board_options == {"top_speed": 0.8}
    assert config.private_key == (path.parent / sample["PRIVATE_KEY_PATH"]).resolve()
    assert config.action_topic == f"{sample['IOT_THINGNAME']}/action"
    assert config.telemetry_topic == f"{sample['IOT_THINGNAME']}/telemetry"


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_a_missing_sample_key_is_named(tmp_path: Path, key: str) -> None:
    assert problems_of(write_config(tmp_path, **{key: REMOVE})) == [
        f"{key}: missing; add it to config.json"
    ]


# (changes to the sample, text the problem must hold: the key and the value, and the fix)
SINGLE_PROBLEMS: list[tuple[dict[str, Any], list[str]]] = [
    ({"IOT_THINGNAME": 42}, ["IOT_THINGNAME = 42", "string"]),
    ({"IOT_THINGNAME": " "}, ["IOT_THINGNAME = ' '", "empty"]),
    ({"IOT_THINGNAME": "bot/1"}, ["IOT_THINGNAME = 'bot/1'", "'/'"]),
    ({"IOT_CORE_ENDPOINT": None}, ["IOT_CORE_ENDPOINT = None", "string"]),
    ({"IOT_CORE_PORT": "8883"}, ["IOT_CORE_PORT = '8883'", "whole number"]),
    ({"IOT_CORE_PORT": 70000}, ["IOT_CORE_PORT = 70000", "1 to 65535"]),
    ({"IOT_CORE_PORT": 8883.5}, ["IOT_CORE_PORT = 8883.5", "whole number"]),
    ({"DEFAULT_SPEED": 1.5}, ["DEFAULT_SPEED = 1.5", "0 to 1"]),
    ({"DEFAULT_SPEED": True}, ["DEFAULT_SPEED = True", "a number"]),
    ({"COMMAND_TTL_MS": 10}, ["COMMAND_TTL_MS = 10", "50 to 5000"]),
    ({"TELEMETRY_INTERVAL_MS": "1s"}, ["TELEMETRY_INTERVAL_MS = '1s'", "whole number"]),
    ({"MOTOR_SPEED": 0.5}, ["MOTOR_SPEED: unknown key", "DEFAULT_SPEED"]),
    ({"ROOT_CA_PATH": "certs/missing.pem"}, ["ROOT_CA_PATH = 'certs/missing.pem'", "no file"]),
    ({"CERTIFICATE_PATH": "certs"}, ["CERTIFICATE_PATH = 'certs'", "cannot read"]),
    ({"PRIVATE_KEY_PATH": ""}, ["PRIVATE_KEY_PATH = ''", "path of a file"]),
    ({"MOTOR_DRIVER": "warp-drive"}, ["MOTOR_DRIVER = 'warp-drive'", "unknown motor driver"]),
    ({"MOTOR_DRIVER": 3}, ["MOTOR_DRIVER = 3", "sim"]),
    ({"MOTOR_OPTIONS": []}, ["MOTOR_OPTIONS = []", "map board names"]),
    ({"MOTOR_OPTIONS": {"sim": 1}}, ["MOTOR_OPTIONS = {'sim': 1}", "map board names"]),
    ({"MOTOR_OPTIONS": {"warp": {}}}, ["MOTOR_OPTIONS = 'warp'", "unknown board"]),
    (
        {"MOTOR_OPTIONS": {"sim": {"wheel_base": -1}}},
        ["MOTOR_OPTIONS.sim.wheel_base = -1", "positive"],
    ),
    ({"MOTOR_OPTIONS": {"sim": {"colour": "red"}}}, ["MOTOR_OPTIONS.sim.colour", "unknown option"]),
    ({"MAX_ACCELERATION": -1}, ["MAX_ACCELERATION = -1", "0 to 100"]),
    ({"MAX_DECELERATION": "fast"}, ["MAX_DECELERATION = 'fast'", "a number"]),
    ({"MAX_WHEEL_OUTPUT": 0}, ["MAX_WHEEL_OUTPUT = 0", "0.05 to 1"]),
    ({"MAX_TURN_RATE": 1000}, ["MAX_TURN_RATE = 1000", "0 to 100"]),
    ({"WHEEL_SEPARATION": 0}, ["WHEEL_SEPARATION = 0", "0.02 to 5"]),
    ({"TOP_SPEED": None}, ["TOP_SPEED = None", "a number"]),
    ({"STATE_DIR": ""}, ["STATE_DIR = ''", "path of a folder"]),
    ({"STATE_DIR": "certs/cacert.pem"}, ["STATE_DIR = 'certs/cacert.pem'", "not a folder"]),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    SINGLE_PROBLEMS,
    ids=[next(iter(changes)) for changes, _ in SINGLE_PROBLEMS],
)
def test_each_problem_names_its_key_and_value(
    tmp_path: Path, changes: dict[str, Any], expected: list[str]
) -> None:
    [problem] = problems_of(write_config(tmp_path, **changes))
    for text in expected:
        assert text in problem


def test_a_readable_private_key_says_chmod_600(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    key = path.parent / "certs" / "private.pem.key"
    key.chmod(0o644)
    [problem] = problems_of(path)
    assert problem.startswith("PRIVATE_KEY_PATH = 'certs/private.pem.key'")
    assert "mode 644" in problem
    assert f"chmod 600 {key.resolve()}" in problem


@pytest.mark.parametrize(
    ("mode", "owner", "exposed"),
    [
        (0o600, 1000, False),
        (0o400, 1000, False),
        (0o600, 0, False),
        (0o640, 0, False),  # root:robot 0640, as install.sh sets it: the service reads only
        (0o440, 0, False),
        (0o640, 1000, True),  # the group reads a key its owner may also change
        (0o660, 0, True),
        (0o620, 0, True),
        (0o604, 0, True),
        (0o602, 1000, True),
        (0o601, 0, True),
        (0o610, 0, True),
        (0o644, 0, True),
    ],
)
def test_which_private_key_modes_are_refused(mode: int, owner: int, exposed: bool) -> None:
    assert config_module._exposed(mode, owner) is exposed


def test_a_root_owned_key_the_group_reads_passes(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    key = path.parent / "certs" / "private.pem.key"
    key.chmod(0o640)
    if key.stat().st_uid != 0:
        pytest.skip("needs root to make a file owned by root")
    load(path, environ={})  # no ConfigError
    os.chown(key, 65534, -1)  # the service user owning its own key: refused
    [problem] = problems_of(path)
    assert problem.startswith("PRIVATE_KEY_PATH") and "mode 640" in problem


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777, 0o1777, 0o720, 0o702])
def test_a_state_dir_others_may_write_is_refused_with_its_fix(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, STATE_DIR="state")
    state = path.parent / "state"
    state.mkdir()
    state.chmod(mode)
    [problem] = problems_of(path)
    assert problem.startswith("STATE_DIR = 'state'")
    assert f"mode {mode:o}" in problem and f"chmod go-w {state.resolve()}" in problem


@pytest.mark.parametrize("mode", [0o700, 0o755, 0o750, 0o705])
def test_a_state_dir_only_its_owner_writes_passes(tmp_path: Path, mode: int) -> None:
    path = write_config(tmp_path, STATE_DIR="state")
    (path.parent / "state").mkdir()
    (path.parent / "state").chmod(mode)
    assert load(path, environ={}).state_dir == (path.parent / "state").resolve()


def test_a_state_dir_to_be_made_in_a_folder_others_write_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, STATE_DIR="shared/state")
    (path.parent / "shared").mkdir()
    (path.parent / "shared").chmod(0o1777)
    [problem] = problems_of(path)
    assert "where it would be made" in problem and "mode 1777" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    changes = {
        "IOT_CORE_ENDPOINT": REMOVE,
        "IOT_CORE_PORT": 0,
        "DEFAULT_SPEED": -1,
        "ROOT_CA_PATH": "certs/missing.pem",
        "MOTOR_DRIVER": "warp-drive",
        "MOTOR_OPTIONS": {"warp": {}},
        "EXTRA": 1,
    }
    path = write_config(tmp_path, **changes)
    (path.parent / "certs" / "private.pem.key").chmod(0o604)
    problems = problems_of(path)
    named = [
        "IOT_CORE_ENDPOINT",
        "IOT_CORE_PORT",
        "DEFAULT_SPEED",
        "ROOT_CA_PATH",
        "PRIVATE_KEY_PATH",
        "MOTOR_DRIVER",
        "MOTOR_OPTIONS",
        "EXTRA",
    ]
    assert len(problems) == len(named)
    for key in named:
        assert any(problem.startswith(key) for problem in problems), key


def test_the_environment_chooses_the_board_over_the_file(tmp_path: Path) -> None:
    assert (
        load(
            write_config(tmp_path, MOTOR_DRIVER="warp-drive"), environ={"MOTOR_DRIVER": "sim"}
        ).motor_driver
        == "sim"
    )
    [problem] = problems_of(
        write_config(tmp_path, MOTOR_DRIVER="sim"), environ={"MOTOR_DRIVER": "warp-drive"}
    )
    assert problem.startswith("MOTOR_DRIVER = 'warp-drive'")
    assert load(write_config(tmp_path), environ={"MOTOR_DRIVER": ""}).motor_driver == "sim"


def test_paths_are_relative_to_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path / "robot")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load(Path("..") / "robot" / path.name, environ={})
    certs = (tmp_path / "robot" / "certs").resolve()
    assert (config.root_ca, config.certificate, config.private_key) == (
        certs / "cacert.pem",
        certs / "certificate.pem",
        certs / "private.pem.key",
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{\n  "IOT_THINGNAME": "bot",\n  oops\n}', "line 3, column 3"),
        ('{"IOT_THINGNAME": "bot",}', "line 1, column 25"),
        ("", "line 1, column 1"),
    ],
)
def test_invalid_json_is_located(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    [problem] = problems_of(path)
    assert problem.startswith(f"not valid JSON at {where}")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'["a list"]', "one JSON object"),
        (b'{"IOT_THINGNAME": "caf\xe9"}', "not UTF-8"),
    ],
)
def test_a_file_that_is_not_a_json_object_is_reported(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    [problem] = problems_of(path)
    assert expected in problem


def test_a_missing_config_file_is_reported(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nowhere.json")
    assert "no config file" in problem


def test_check_config_reports_problems_on_stderr_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    path = write_config(tmp_path, DEFAULT_SPEED=7, MOTOR_DRIVER="warp-drive")
    assert cli.main(["check-config", "--config", str(path)]) == 2
    out = capsys.readouterr().err
    assert "2 problem(s)" in out
    assert "DEFAULT_SPEED = 7" in out
    assert "MOTOR_DRIVER = 'warp-drive'" in out


def test_check_config_accepts_a_good_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    path = write_config(tmp_path)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out
    assert json.loads(path.read_text())["IOT_THINGNAME"] in out


def test_the_config_doc_table_is_the_declared_keys() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    assert config_module.markdown_table() in page


def test_the_example_config_json_holds_the_declared_defaults() -> None:
    example = json.loads((Path(__file__).resolve().parents[2] / "config.json").read_text())
    assert set(example) == set(config_module.KEYS_BY_NAME)
    for name, default in config_module.DEFAULTS.items():
        assert example[name] == default, name


def test_every_config_field_but_the_path_is_declared_by_its_key() -> None:
    declared = {field.name for field in dataclasses.fields(config_module.Config)}
    assert declared - set(config_module.KEYS) == {"path", "deprecations"}


def test_every_key_kind_is_used_by_a_key() -> None:
    declared = {key.kind for key in config_module.KEYS.values()}
    assert declared == set(config_module.KeyKind)  # no kind without a key


def test_the_state_dir_is_relative_to_the_config_file_and_may_not_exist_yet(
    tmp_path: Path,
) -> None:
    settings = load(write_config(tmp_path, STATE_DIR="var/state"), environ={})
    assert settings.state_dir == (tmp_path / "var" / "state").resolve()


def test_the_turn_rate_becomes_a_wheel_output_limit(tmp_path: Path) -> None:
    settings = load(
        write_config(tmp_path, MAX_TURN_RATE=2.0, WHEEL_SEPARATION=0.2, TOP_SPEED=0.5), environ={}
    )
    # 2 rad/s on a 0.2 m base is 0.2 m/s each way: 0.4 of the 0.5 m/s top speed
    assert settings.limits.max_turn == pytest.approx(0.4)
    assert load(write_config(tmp_path), environ={}).limits.max_turn == 1.0  # 0: no limit


def test_wheel_separation_sets_the_distance_between_the_wheels(tmp_path: Path) -> None:
    settings = load(write_config(tmp_path, WHEEL_SEPARATION=0.3), environ={})
    assert settings.wheel_separation == 0.3
    assert settings.deprecations == ()


def test_the_old_name_wheel_base_still_loads_with_a_deprecation(tmp_path: Path) -> None:
    settings = load(write_config(tmp_path, WHEEL_SEPARATION=REMOVE, WHEEL_BASE=0.3), environ={})
    assert settings.wheel_separation == 0.3
    [deprecation] = settings.deprecations
    assert deprecation.startswith("WHEEL_BASE = 0.3: deprecated")
    assert "rename WHEEL_BASE to WHEEL_SEPARATION in config.json" in deprecation


def test_a_bad_value_under_the_old_name_is_named_as_the_file_gives_it(tmp_path: Path) -> None:
    [problem] = problems_of(write_config(tmp_path, WHEEL_SEPARATION=REMOVE, WHEEL_BASE=0))
    assert problem.startswith("WHEEL_BASE = 0: must be from 0.02 to 5")


def test_the_old_and_the_new_name_together_are_an_error_naming_both(tmp_path: Path) -> None:
    [problem] = problems_of(write_config(tmp_path, WHEEL_SEPARATION=0.2, WHEEL_BASE=0.3))
    assert problem.startswith("WHEEL_BASE = 0.3 and WHEEL_SEPARATION = 0.2: the same setting")
    assert problem.endswith("delete WHEEL_BASE")


def test_check_config_prints_the_deprecation_and_still_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    path = write_config(tmp_path, WHEEL_SEPARATION=REMOVE, WHEEL_BASE=0.15)
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr()
    assert "OK" in out.out
    [warning] = out.err.splitlines()
    assert warning == (
        f"robot check-config: warning: {path}: WHEEL_BASE = 0.15: deprecated, now called "
        "WHEEL_SEPARATION; rename WHEEL_BASE to WHEEL_SEPARATION in config.json"
    )


def test_check_config_is_silent_on_stderr_for_a_current_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    assert cli.main(["check-config", "--config", str(write_config(tmp_path))]) == 0
    assert capsys.readouterr().err == ""


def test_doctor_warns_of_the_old_name_after_passing_the_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, WHEEL_SEPARATION=REMOVE, WHEEL_BASE=0.15)
    findings = examine(path)
    assert next(findings).status == "ok"
    warning = next(findings)
    assert str(warning).startswith("warn config: WHEEL_BASE = 0.15: deprecated")


VIDEO_PROBLEMS = [
    (
        {"VIDEO_SOURCE": "picamera2", "VIDEO_CODEC": "vp8"},
        ["VIDEO_CODEC = 'vp8'", "VIDEO_SOURCE 'picamera2' sends h264 only", "set VIDEO_CODEC"],
    ),
    (
        {"VIDEO_SOURCE": "picamera2", "VIDEO_OPTIONS": {"max_bitrate": 90_000_000}},
        ["VIDEO_OPTIONS max_bitrate = 90000000", "from 100000 to 25000000"],
    ),
    (
        {"VIDEO_SOURCE": "testpattern", "VIDEO_OPTIONS": {"min_bitrate": 100_000}},
        ["VIDEO_OPTIONS min_bitrate = 100000", "aiortc's h264 encoder", "500000 to 3000000"],
    ),
    (
        {
            "VIDEO_SOURCE": "testpattern",
            "VIDEO_CODEC": "vp8",
            "VIDEO_OPTIONS": {"max_bitrate": "1M"},
        },
        ["VIDEO_OPTIONS max_bitrate = '1M'", "a whole number", "250000 to 1500000"],
    ),
    (
        {"VIDEO_SOURCE": "testpattern", "VIDEO_OPTIONS": {"bitrate": 1_000_000}},
        ["VIDEO_OPTIONS bitrate = 1000000", "delete it"],
    ),
    (
        {
            "VIDEO_SOURCE": "picamera2",
            "VIDEO_OPTIONS": {"min_bitrate": 2_000_000, "max_bitrate": 1_000_000},
        },
        ["VIDEO_OPTIONS min_bitrate = 2000000", "above max_bitrate (1000000)"],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), VIDEO_PROBLEMS)
def test_check_config_refuses_video_the_source_cannot_send(
    tmp_path: Path, changes: dict[str, Any], expected: list[str]
) -> None:
    [problem] = problems_of(write_config(tmp_path, **changes))
    for text in expected:
        assert text in problem


@pytest.mark.parametrize(
    ("changes", "bounds"),
    [
        ({"VIDEO_SOURCE": "picamera2"}, (300_000, 3_000_000, 1_500_000)),
        ({"VIDEO_SOURCE": "testpattern", "VIDEO_CODEC": "vp8"}, (250_000, 1_500_000, 1_500_000)),
        (
            {"VIDEO_SOURCE": "picamera2", "VIDEO_OPTIONS": {"max_bitrate": 1_000_000}},
            (300_000, 1_000_000, 1_000_000),
        ),
    ],
)
def test_the_bitrate_bounds_a_config_gives_the_producer(
    tmp_path: Path, changes: dict[str, Any], bounds: tuple[int, int, int]
) -> None:
    loaded = load(write_config(tmp_path, **changes), environ={})
    chosen = video.bitrates(loaded.video_source, loaded.video_codec, loaded.video_options)
    assert (chosen.low, chosen.high, chosen.start) == bounds


def test_a_source_that_is_not_ours_to_check_is_not_refused_a_codec(tmp_path: Path) -> None:
    # The AWS sample's producer picks its own codec and bitrate.
    load(write_config(tmp_path, VIDEO_PRODUCER="kvs-c-sample", VIDEO_CODEC="vp8"), environ={})


def test_check_config_names_the_codec_the_camera_cannot_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    path = write_config(tmp_path, VIDEO_SOURCE="picamera2", VIDEO_CODEC="vp8")
    assert cli.main(["check-config", "--config", str(path)]) == 2
    assert (
        "VIDEO_CODEC = 'vp8': VIDEO_SOURCE 'picamera2' sends h264 only" in capsys.readouterr().err
    )
