"""The robot's settings: config.json, checked as a whole, every problem named with its fix."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import drivers

DEFAULT_PATH = Path("config.json")

# The AWS sample's keys: kept as they are, so its config.json works unchanged.
REQUIRED_KEYS = (
    "IOT_THINGNAME",
    "IOT_CORE_ENDPOINT",
    "IOT_GET_CREDENTIAL_ENDPOINT",
    "ROLE_ALIAS",
    "AWS_DEFAULT_REGION",
)
DEFAULTS: dict[str, Any] = {
    "IOT_CORE_PORT": 8883,
    "ROOT_CA_PATH": "certs/cacert.pem",
    "CERTIFICATE_PATH": "certs/certificate.pem",
    "PRIVATE_KEY_PATH": "certs/private.pem.key",
    "MOTOR_DRIVER": "explorerhat",
    "MOTOR_OPTIONS": {},
    "DEFAULT_SPEED": 0.6,
    "COMMAND_TTL_MS": 500,
    "TELEMETRY_INTERVAL_MS": 1000,
}
KNOWN_KEYS = {*REQUIRED_KEYS, *DEFAULTS}


class ConfigError(ValueError):
    """A config with problems; ``problems`` lists each one, naming the key, value and fix."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Config:
    path: Path
    thing_name: str
    endpoint: str
    credential_endpoint: str
    role_alias: str
    region: str
    port: int
    root_ca: Path
    certificate: Path
    private_key: Path
    motor_driver: str
    motor_options: dict[str, Any] = field(default_factory=dict)
    default_speed: float = 0.6
    command_ttl_ms: int = 500
    telemetry_interval_ms: int = 1000

    @property
    def action_topic(self) -> str:
        return f"{self.thing_name}/action"

    @property
    def telemetry_topic(self) -> str:
        return f"{self.thing_name}/telemetry"

    @property
    def board_options(self) -> dict[str, Any]:
        """The options of the selected board (``MOTOR_OPTIONS`` is keyed by board name)."""
        return dict(self.motor_options.get(self.motor_driver, {}))


def load(
    path: Path | str = DEFAULT_PATH,
    environ: Mapping[str, str] | None = None,
    check_board: bool = True,
) -> Config:
    """Read and check a config file; raise ConfigError listing every problem found."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    raw = _read(path)
    checker = _Checker(path, raw)
    config = checker.config(environ, check_board)
    if checker.problems:
        raise ConfigError(path, checker.problems)
    assert config is not None
    return config


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text (byte {exc.start}): save it as UTF-8"]) from None
    except FileNotFoundError:
        raise ConfigError(
            path,
            [
                f"no config file at {path}: create it (see config.json in the project), "
                "or point --config at yours"
            ],
        ) from None
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror}; check its permissions"
        raise ConfigError(path, [problem]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            path, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(path, ["the file must hold one JSON object of KEY: value pairs"])
    return data


class _Checker:
    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.problems: list[str] = []

    def config(self, environ: Mapping[str, str], check_board: bool = True) -> Config | None:
        for key in sorted(set(self.raw) - KNOWN_KEYS):
            self.problems.append(f"{key}: unknown key; known keys: {', '.join(sorted(KNOWN_KEYS))}")
        thing = self._string("IOT_THINGNAME")
        if thing and any(ch in thing for ch in "/+#"):
            self._fail("IOT_THINGNAME", thing, "a thing name cannot contain '/', '+' or '#'")
        endpoint = self._string("IOT_CORE_ENDPOINT")
        credential_endpoint = self._string("IOT_GET_CREDENTIAL_ENDPOINT", allow_empty=True)
        role_alias = self._string("ROLE_ALIAS", allow_empty=True)
        region = self._string("AWS_DEFAULT_REGION", allow_empty=True)
        port = self._number("IOT_CORE_PORT", int, 1, 65535)
        root_ca = self._file("ROOT_CA_PATH")
        certificate = self._file("CERTIFICATE_PATH")
        private_key = self._file("PRIVATE_KEY_PATH", private=True)
        motor_driver = self._motor_driver(environ)
        motor_options = self._motor_options()
        if check_board and motor_driver:
            # Checked with the rest, so one run reports the board's problems too.
            self.problems.extend(
                f"MOTOR_DRIVER = {motor_driver!r}: {problem}"
                for problem in drivers.check(motor_driver, motor_options.get(motor_driver, {}))
            )
        default_speed = self._number("DEFAULT_SPEED", float, 0.0, 1.0)
        ttl = self._number("COMMAND_TTL_MS", int, 50, 5000)
        telemetry = self._number("TELEMETRY_INTERVAL_MS", int, 100, 60000)
        if self.problems:
            return None
        return Config(
            self.path,
            thing,
            endpoint,
            credential_endpoint,
            role_alias,
            region,
            port,
            root_ca,
            certificate,
            private_key,
            motor_driver,
            motor_options,
            default_speed,
            ttl,
            telemetry,
        )

    def _fail(self, key: str, value: Any, fix: str) -> None:
        self.problems.append(f"{key} = {value!r}: {fix}")

    def _value(self, key: str) -> Any:
        return self.raw.get(key, DEFAULTS.get(key))

    def _string(self, key: str, allow_empty: bool = False) -> str:
        if key not in self.raw:
            self.problems.append(f"{key}: missing; add it to {self.path.name}")
            return ""
        value = self.raw[key]
        if not isinstance(value, str):
            self._fail(key, value, "must be a string")
            return ""
        if not value.strip() and not allow_empty:
            self._fail(key, value, "must not be empty")
        return value.strip()

    def _number(self, key: str, kind: type, low: float, high: float) -> Any:
        value = self._value(key)
        ok_type = isinstance(value, int | float) if kind is float else isinstance(value, int)
        if isinstance(value, bool) or not ok_type:
            word = "a number" if kind is float else "a whole number"
            self._fail(key, value, f"must be {word} from {low:g} to {high:g}")
            return DEFAULTS[key]
        if not low <= value <= high:
            self._fail(key, value, f"must be from {low:g} to {high:g}")
            return DEFAULTS[key]
        return kind(value)

    def _file(self, key: str, private: bool = False) -> Path:
        value = self._value(key)
        if not isinstance(value, str) or not value:
            self._fail(key, value, "must be the path of a file (relative to the config file)")
            return Path()
        path = (self.path.parent / value).resolve()
        try:
            mode = path.stat().st_mode
            with path.open("rb"):
                pass
        except FileNotFoundError:
            self._fail(key, value, f"no file at {path}; put it there or fix the path")
            return path
        except OSError as exc:
            self._fail(key, value, f"cannot read {path} ({exc.strerror}); fix its permissions")
            return path
        if not stat.S_ISREG(mode):
            self._fail(key, value, f"{path} is not a regular file")
        elif private and mode & 0o077:
            self._fail(
                key,
                value,
                f"the private key can be read by other users "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}",
            )
        return path

    def _motor_driver(self, environ: Mapping[str, str]) -> str:
        # As in the AWS sample's installer, the environment variable wins over the file.
        if environ.get("MOTOR_DRIVER"):
            return environ["MOTOR_DRIVER"]
        value = self._value("MOTOR_DRIVER")
        if not isinstance(value, str) or not value:
            self._fail("MOTOR_DRIVER", value, f"must be one of {', '.join(sorted(drivers.BOARDS))}")
            return ""
        return value

    def _motor_options(self) -> dict[str, Any]:
        value = self._value("MOTOR_OPTIONS")
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            self._fail(
                "MOTOR_OPTIONS",
                value,
                'must map board names to their options, e.g. {"adafruit": {"left": "motor1"}}',
            )
            return {}
        for board in sorted(set(value) - set(drivers.BOARDS)):
            self._fail(
                "MOTOR_OPTIONS",
                board,
                f"unknown board; choose from {', '.join(sorted(drivers.BOARDS))}",
            )
        return value
