"""The robot's settings: config.json, checked as a whole, every problem named with its fix.

Every key is declared once, on the :class:`Config` field it fills: its name in the file,
its kind (a :class:`KeyKind`), range, default, meaning and any old name it is still read
under. That one declaration drives the checker, the defaults, the table in docs/config.md
(:func:`markdown_table`) and the example ``config.json``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import drivers
from drivers import distance
from robot.contracts import protocol, video
from robot.contracts.cameras import CAMERA_GROUP
from robot.daemon import ramp
from robot.daemon.battery import BatterySettings, battery_settings
from robot.daemon.link_limits import LinkSpeedLimit
from robot.daemon.obstacle_guard import GuardSettings

DEFAULT_PATH = Path("config.json")
REQUIRED = object()  # the default of a key the file must have


class KeyKind(StrEnum):
    """How a key's value is checked, and what it becomes."""

    TEXT = "text"  # a string, not empty
    TEXT_OR_EMPTY = "text-or-empty"  # a string, may be empty
    THING_NAME = "thing-name"  # a string usable in MQTT topics: no '/', '+' or '#'
    WHOLE = "whole"  # an integer from low to high
    NUMBER = "number"  # an integer or float from low to high
    FILE = "file"  # a readable regular file, relative to the config file
    PRIVATE_FILE = "private-file"  # a file, readable by its owner only
    DIRECTORY = "directory"  # a writable folder, or one that can be made
    BOARD = "board"  # a motor board's name; the MOTOR_DRIVER variable overrides it
    BOARD_OPTIONS = "board-options"  # options per known board name
    CHOICE = "choice"  # one of the key's choices
    CAMERA = "camera"  # an installed camera source
    OBJECT = "object"  # any JSON object
    BATTERY = "battery"  # a battery gauge's settings (robot/daemon/battery.py)
    LINK_SPEED_LIMITS = "link-speed-limits"  # rows of {"above_ms", "max_speed"}
    OBSTACLE_GUARD = "obstacle-guard"  # {} or {"sensor", "options", "slow_m", "stop_m"}


@dataclass(frozen=True)
class Key:
    """One config.json key: how it is checked, its default and what it means."""

    name: str
    kind: KeyKind
    meaning: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()  # KeyKind.CHOICE: the values allowed
    alias: str | None = None  # its old name, still read, and reported as deprecated

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _key(name: str, kind: KeyKind, meaning: str, **spec: Any) -> Any:
    """A Config field declared by its config.json key."""
    return field(metadata={"key": Key(name, kind, meaning, **spec)})


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path  # the config file; relative paths in it are relative to its folder
    deprecations: tuple[str, ...] = ()  # each old key name the file uses, with its fix
    # The AWS sample's keys, kept as they are, so its config.json works unchanged.
    thing_name: str = _key(
        "IOT_THINGNAME",
        KeyKind.THING_NAME,
        "the robot's name: its IoT thing, MQTT client id and topic prefix",
    )
    endpoint: str = _key(
        "IOT_CORE_ENDPOINT",
        KeyKind.TEXT,
        "the account's IoT data endpoint (`…-ats.iot.<region>.amazonaws.com`)",
    )
    credential_endpoint: str = _key(
        "IOT_GET_CREDENTIAL_ENDPOINT",
        KeyKind.TEXT_OR_EMPTY,
        "the IoT credentials-provider endpoint, for video",
    )
    role_alias: str = _key(
        "ROLE_ALIAS", KeyKind.TEXT_OR_EMPTY, "the role alias the camera's credentials come from"
    )
    region: str = _key("AWS_DEFAULT_REGION", KeyKind.TEXT_OR_EMPTY, "the stack's region")
    # Ours, each with a default.
    kvs_endpoint_url: str = _key(
        "KVS_ENDPOINT_URL",
        KeyKind.TEXT_OR_EMPTY,
        "the KVS control plane for video; empty: AWS's (`robot sim` sets its local one)",
        default="",
    )
    port: int = _key(
        "IOT_CORE_PORT", KeyKind.WHOLE, "MQTT over mutual TLS", default=8883, low=1, high=65535
    )
    root_ca: Path = _key(
        "ROOT_CA_PATH", KeyKind.FILE, "Amazon's root CA", default="certs/cacert.pem"
    )
    certificate: Path = _key(
        "CERTIFICATE_PATH", KeyKind.FILE, "the thing's certificate", default="certs/certificate.pem"
    )
    private_key: Path = _key(
        "PRIVATE_KEY_PATH",
        KeyKind.PRIVATE_FILE,
        "its private key: readable by its owner only (`chmod 600`), or owned by root and by its "
        "group too (`root:robot 0640`)",
        default="certs/private.pem.key",
    )
    motor_driver: str = _key(
        "MOTOR_DRIVER",
        KeyKind.BOARD,
        "the board; the environment variable `MOTOR_DRIVER` overrides it",
        default="explorerhat",
    )
    motor_options: dict[str, Any] = _key(
        "MOTOR_OPTIONS",
        KeyKind.BOARD_OPTIONS,
        "options per board, keyed by board name: see [Motor boards](#motor-boards)",
        default={},
    )
    default_speed: float = _key(
        "DEFAULT_SPEED",
        KeyKind.NUMBER,
        "wheel speed for the five named actions",
        default=0.6,
        low=protocol.MIN_SPEED,
        high=protocol.MAX_SPEED,
    )
    command_ttl_ms: int = _key(
        "COMMAND_TTL_MS",
        KeyKind.WHOLE,
        "how long a command drives when it carries no `ttl_ms`",
        default=500,
        low=protocol.MIN_TTL_MS,
        high=protocol.MAX_TTL_MS,
    )
    telemetry_interval_ms: int = _key(
        "TELEMETRY_INTERVAL_MS",
        KeyKind.WHOLE,
        "how often the robot reports when nothing changes",
        default=1000,
        low=100,
        high=60000,
    )
    drive_lease_s: float = _key(
        "DRIVE_LEASE_S",
        KeyKind.NUMBER,
        "seconds without a command after which the driver's lease lapses",
        default=15.0,
        low=1,
        high=3600,
    )
    handover_timeout_s: float = _key(
        "HANDOVER_TIMEOUT_S",
        KeyKind.NUMBER,
        "seconds an idle driver has to answer a request for control before it passes",
        default=10.0,
        low=1,
        high=3600,
    )
    state_dir: Path = _key(
        "STATE_DIR",
        KeyKind.DIRECTORY,
        "where the robot keeps what must survive a restart (the e-stop latch); no other user may "
        "write it (`chmod go-w`)",
        default="state",
    )
    max_wheel_output: float = _key(
        "MAX_WHEEL_OUTPUT",
        KeyKind.NUMBER,
        "the largest wheel output any command gets",
        default=1.0,
        low=0.05,
        high=1.0,
    )
    max_acceleration: float = _key(
        "MAX_ACCELERATION",
        KeyKind.NUMBER,
        "how much a wheel's output may grow per second (0: at once)",
        default=4.0,
        low=0,
        high=100,
    )
    max_deceleration: float = _key(
        "MAX_DECELERATION",
        KeyKind.NUMBER,
        "how much it may shrink per second between moving commands (0: at once); "
        "every stop is at once",
        default=8.0,
        low=0,
        high=100,
    )
    max_turn_rate: float = _key(
        "MAX_TURN_RATE",
        KeyKind.NUMBER,
        "the fastest turn in radians per second, from `WHEEL_SEPARATION` and `TOP_SPEED` "
        "(0: no limit)",
        default=0,
        low=0,
        high=100,
    )
    wheel_separation: float = _key(
        "WHEEL_SEPARATION",
        KeyKind.NUMBER,
        "metres between the wheels (ROS's `wheel_separation`), for odometry",
        default=0.15,
        low=0.02,
        high=5,
        alias="WHEEL_BASE",
    )
    top_speed: float = _key(
        "TOP_SPEED",
        KeyKind.NUMBER,
        "metres per second of a wheel at output 1, for odometry",
        default=0.5,
        low=0.01,
        high=20,
    )
    video_producer: str = _key(
        "VIDEO_PRODUCER",
        KeyKind.CHOICE,
        "who streams the camera: `python` (ours), `kvs-c-sample` (AWS's C SDK sample), `off`",
        default="python",
        choices=("python", "kvs-c-sample", "off"),
    )
    video_source: str = _key(
        "VIDEO_SOURCE",
        KeyKind.CAMERA,
        "the camera of the `python` producer: `picamera2`, `v4l2`, `testpattern` (`sim` in "
        "`robot sim`)",
        default="picamera2",
    )
    video_options: dict[str, Any] = _key(
        "VIDEO_OPTIONS",
        KeyKind.OBJECT,
        "the camera's options: `width` (640), `height` (480), `fps` (30); `device` for `v4l2`; "
        "`noise` for `testpattern` (true: its bottom quarter is noise, which needs a camera's "
        "bitrate: for bandwidth tests); `min_bitrate` and `max_bitrate`, the bounds the "
        "sending bitrate follows the viewers' estimate within (bits per second: within "
        f"{'..'.join(map(str, video.SOFTWARE_RANGES['h264']))} for `h264` and "
        f"{'..'.join(map(str, video.SOFTWARE_RANGES['vp8']))} for `vp8` from aiortc's "
        f"encoders, the default; {'..'.join(map(str, video.HARDWARE_RANGE))} for `picamera2`, "
        f"default {'..'.join(map(str, video.HARDWARE_DEFAULTS))}); `bitrate`, where "
        f"`picamera2` starts ({video.START_BITRATE})",
        default={},
    )
    video_codec: str = _key(
        "VIDEO_CODEC",
        KeyKind.CHOICE,
        "what the `python` producer sends: `h264` or `vp8` (`picamera2` sends `h264` only)",
        default="h264",
        choices=("h264", "vp8"),
    )
    audio_devices: str = _key(
        "AUDIO_DEVICES",
        KeyKind.TEXT_OR_EMPTY,
        "the microphone and speaker of the `python` producer: `alsa`, or `sim` (the simulated "
        "room, `robot sim`'s default); empty: no audio",
        default="",
    )
    audio_options: dict[str, Any] = _key(
        "AUDIO_OPTIONS",
        KeyKind.OBJECT,
        "the audio devices' options: for `alsa` `microphone` and `speaker` (ALSA device names, "
        "`default`), `microphone_gain_db` (0), `echo_delay_ms` (40); for any, `mute_button` (a "
        "BCM pin) and `status_led` (a BCM pin, or `explorerhat`); for `sim`, the room's "
        "(sim/robot/room.py)",
        default={},
    )
    audio_processing: str = _key(
        "AUDIO_PROCESSING",
        KeyKind.CHOICE,
        "what the microphone's sound goes through: `full` (echo cancellation, noise "
        "suppression, automatic gain), `no-echo-canceller`, `none`",
        default="full",
        choices=("full", "no-echo-canceller", "none"),
    )
    kvs_sample_path: str = _key(
        "KVS_SAMPLE_PATH",
        KeyKind.TEXT,
        "the `kvs-c-sample` producer's program (a name on PATH, or a path)",
        default="kvsWebrtcClientMasterGstSample",
    )
    health_source: str = _key(
        "HEALTH_SOURCE",
        KeyKind.CHOICE,
        "where the health report's figures come from: `pi` (this computer's), `sim` "
        "(`robot sim`'s), `off`",
        default="pi",
        choices=("pi", "sim", "off"),
    )
    health_interval_ms: int = _key(
        "HEALTH_INTERVAL_MS",
        KeyKind.WHOLE,
        "how often the robot reports its health (temperature, throttling, Wi-Fi, battery)",
        default=5000,
        low=1000,
        high=600000,
    )
    battery: BatterySettings | None = _key(
        "BATTERY",
        KeyKind.BATTERY,
        "the battery gauge: `sensor` (`ina219`, `max17048`; `sim` in `robot sim`), `cells` in "
        "series (1), `capacity_mah` (2000), `low_percent` (20), `critical_percent` (10: forward "
        "at a crawl below it), `address` (the sensor's I2C address); `{}`: none",
        default={},
    )
    link_speed_limits: tuple[LinkSpeedLimit, ...] = _key(
        "LINK_SPEED_LIMITS",
        KeyKind.LINK_SPEED_LIMITS,
        "the fastest the wheels may turn (0..1) while the control link's round trip is above "
        "`above_ms`, rows in rising order; a lost link stops the wheels; `[]`: no limit (see "
        "[Speed that follows the link](#speed-that-follows-the-link))",
        default=[{"above_ms": 250, "max_speed": 0.5}, {"above_ms": 600, "max_speed": 0.2}],
    )
    obstacle_guard: GuardSettings | None = _key(
        "OBSTACLE_GUARD",
        KeyKind.OBSTACLE_GUARD,
        "a forward distance sensor that slows the robot inside `slow_m` metres and refuses "
        "forward inside `stop_m`; `{}`: none (see [The obstacle guard](#the-obstacle-guard))",
        default={},
    )
    # Operator tokens, verified on the robot as the authorizer verifies them, for the
    # console's data channel (robot/producer/consoles.py).
    jwt_issuer: str = _key(
        "JWT_ISSUER",
        KeyKind.TEXT_OR_EMPTY,
        "the operators' tokens' issuer, for driving over the console's data channel; empty: "
        "the data channel lets nobody in",
        default="",
    )
    jwt_audience: str = _key("JWT_AUDIENCE", KeyKind.TEXT_OR_EMPTY, "their audience", default="")
    jwks_url: str = _key(
        "JWKS_URL",
        KeyKind.TEXT_OR_EMPTY,
        "their identity provider's keys (`https://…`), or else `JWT_PUBLIC_KEY`",
        default="",
    )
    jwt_public_key: str = _key(
        "JWT_PUBLIC_KEY",
        KeyKind.TEXT_OR_EMPTY,
        "their public key, PEM or its one-line base64 body (as `robot keys init` prints it)",
        default="",
    )
    unscoped_tokens: str = _key(
        "UNSCOPED_TOKENS",
        "choice",
        "whether a token without a `robots` claim may reach this robot over the data channel, "
        "as the authorizer rules for REST: `accepted` on the stack's own robot (`RobotName`) or "
        "with `FleetTokens=true`, `refused` on any other robot of the fleet",
        default="accepted",
        choices=("accepted", "refused"),
    )

    @property
    def action_topic(self) -> str:
        return f"{self.thing_name}/action"

    @property
    def telemetry_topic(self) -> str:
        return f"{self.thing_name}/telemetry"

    @property
    def limits(self) -> ramp.Limits:
        """The ramp limits, the turn rate turned into a wheel-output difference."""
        max_turn = 1.0
        if self.max_turn_rate > 0:
            max_turn = min(1.0, self.max_turn_rate * self.wheel_separation / (2 * self.top_speed))
        return ramp.Limits(
            self.max_wheel_output, self.max_acceleration, self.max_deceleration, max_turn
        )

    @property
    def operator_tokens(self) -> dict[str, str]:
        """How operator tokens are verified, as ``robot.contracts.verify.from_environment``
        reads it; empty when the robot verifies none."""
        settings = {
            "JWT_ISSUER": self.jwt_issuer,
            "JWT_AUDIENCE": self.jwt_audience,
            "JWKS_URL": self.jwks_url,
            "JWT_PUBLIC_KEY": self.jwt_public_key,
        }
        return {name: value for name, value in settings.items() if value}

    @property
    def board_options(self) -> dict[str, Any]:
        """The options of the selected board (``MOTOR_OPTIONS`` is keyed by board name)."""
        return dict(self.motor_options.get(self.motor_driver, {}))


# field name -> its key, in declaration order
KEYS: dict[str, Key] = {f.name: f.metadata["key"] for f in fields(Config) if "key" in f.metadata}
KEYS_BY_NAME: dict[str, Key] = {key.name: key for key in KEYS.values()}
ALIASES: dict[str, Key] = {key.alias: key for key in KEYS.values() if key.alias}  # old name -> key
REQUIRED_KEYS = tuple(key.name for key in KEYS.values() if key.required)
DEFAULTS: dict[str, Any] = {key.name: key.default for key in KEYS.values() if not key.required}


def _exposed(mode: int, owner: int) -> bool:
    """Whether a private key's mode lets anyone but its owner read it, or anyone but root
    change it: root:robot 0640 keeps it from the service user's own writes, 0600 suits the
    user who runs the daemon by hand."""
    if mode & 0o037:
        return True
    return bool(mode & 0o040) and owner != 0


class ConfigError(ValueError):
    """A config with problems; ``problems`` lists each one, naming the key, value and fix."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


def load(
    path: Path | str = DEFAULT_PATH,
    environ: Mapping[str, str] | None = None,
    check_board: bool = True,
) -> Config:
    """Read and check a config file; raise ConfigError listing every problem found."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    checker = _Checker(path, _read(path), environ)
    values = {name: checker.check(key) for name, key in KEYS.items()}
    if check_board and values["motor_driver"]:
        # Checked with the rest, so one run reports the board's problems too.
        board = values["motor_driver"]
        checker.problems.extend(
            f"MOTOR_DRIVER = {board!r}: {problem}"
            for problem in drivers.check(board, values["motor_options"].get(board, {}))
        )
    config = Config(path=path, deprecations=tuple(checker.deprecations), **values)
    checker.problems.extend(_operator_token_problems(config))
    if config.video_producer == "python":
        checker.problems.extend(
            video.problems(config.video_source, config.video_codec, config.video_options)
        )
    if checker.problems:
        raise ConfigError(path, checker.problems)
    return config


def _operator_token_problems(config: Config) -> list[str]:
    """Whether the operator-token settings make a verifier, as the authorizer would build it."""
    if not config.operator_tokens:
        return []
    try:
        from robot.contracts import verify  # PyJWT and cryptography: the video extra
    except ImportError:
        return ["JWT_ISSUER: verifying tokens needs the video extra: pip install -e '.[video]'"]
    try:
        verify.from_environment(config.operator_tokens)
    except verify.ConfigError as exc:
        return [f"JWT_ISSUER, JWT_AUDIENCE, JWKS_URL, JWT_PUBLIC_KEY: {exc}"]
    except ValueError as exc:
        return [f"JWT_PUBLIC_KEY: not a public key ({exc}); paste what `robot keys init` prints"]
    return []


def markdown_table() -> str:
    """The table of keys in docs/config.md, made from the declarations above."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key in KEYS.values():
        if key.required:
            default = (
                "(required, may be empty)" if key.kind == KeyKind.TEXT_OR_EMPTY else "(required)"
            )
        else:
            default = f"`{json.dumps(key.default)}`"
        meaning = key.meaning
        if key.low is not None:
            meaning += f" ({key.low:g}..{key.high:g})"
        if key.alias:
            meaning += f"; formerly `{key.alias}`, still read (deprecated)"
        rows.append(f"| `{key.name}` | {default} | {meaning} |")
    return "\n".join(rows)


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
    """Checks one key at a time by its kind, collecting every problem."""

    def __init__(self, path: Path, raw: dict[str, Any], environ: Mapping[str, str]) -> None:
        self.path = path
        self.raw = raw
        self.environ = environ
        self.problems: list[str] = []
        self.deprecations: list[str] = []
        for name in sorted(set(raw) - set(KEYS_BY_NAME) - set(ALIASES)):
            known = ", ".join(sorted(KEYS_BY_NAME))
            self.problems.append(f"{name}: unknown key; known keys: {known}")

    def check(self, key: Key) -> Any:
        key = self._as_written(key)
        if key.required and key.name not in self.raw:
            self.problems.append(f"{key.name}: missing; add it to {self.path.name}")
            return ""
        value = self.raw.get(key.name, key.default)
        match key.kind:
            case KeyKind.TEXT | KeyKind.TEXT_OR_EMPTY | KeyKind.THING_NAME:
                return self._text(key, value)
            case KeyKind.WHOLE | KeyKind.NUMBER:
                return self._number(key, value)
            case KeyKind.FILE | KeyKind.PRIVATE_FILE:
                return self._file(key, value)
            case KeyKind.DIRECTORY:
                return self._directory(key, value)
            case KeyKind.BOARD:
                return self._board(key, value)
            case KeyKind.BOARD_OPTIONS:
                return self._board_options(key, value)
            case KeyKind.CHOICE:
                return self._choice(key, value)
            case KeyKind.CAMERA:
                return self._camera(key, value)
            case KeyKind.OBJECT:
                return self._object(key, value)
            case KeyKind.BATTERY:
                settings, problems = battery_settings(value)
                self.problems.extend(problems)
                return settings
            case KeyKind.LINK_SPEED_LIMITS:
                return self._link_speed_limits(key, value)
            case KeyKind.OBSTACLE_GUARD:
                return self._obstacle_guard(key, value)
        raise AssertionError(f"{key.name}: no check for kind {key.kind}")

    def _as_written(self, key: Key) -> Key:
        """The key under the name the file gives it, so that problems name what the file says:
        its old name is read as the new one, and reported as deprecated."""
        if key.alias is None or key.alias not in self.raw:
            return key
        old = f"{key.alias} = {self.raw[key.alias]!r}"
        if key.name in self.raw:
            self.problems.append(
                f"{old} and {key.name} = {self.raw[key.name]!r}: the same setting twice "
                f"({key.alias} is the old name of {key.name}); delete {key.alias}"
            )
            return key
        self.deprecations.append(
            f"{old}: deprecated, now called {key.name}; rename {key.alias} to {key.name} "
            f"in {self.path.name}"
        )
        return replace(key, name=key.alias)

    def _fail(self, key: Key, value: Any, fix: str) -> None:
        self.problems.append(f"{key.name} = {value!r}: {fix}")

    def _text(self, key: Key, value: Any) -> str:
        if not isinstance(value, str):
            self._fail(key, value, "must be a string")
            return ""
        if not value.strip() and key.kind != KeyKind.TEXT_OR_EMPTY:
            self._fail(key, value, "must not be empty")
        elif key.kind == KeyKind.THING_NAME and any(ch in value for ch in "/+#"):
            self._fail(key, value, "a thing name cannot contain '/', '+' or '#'")
        return value.strip()

    def _number(self, key: Key, value: Any) -> Any:
        whole = key.kind == KeyKind.WHOLE
        ok_type = isinstance(value, int) if whole else isinstance(value, int | float)
        assert key.low is not None and key.high is not None
        if isinstance(value, bool) or not ok_type:
            word = "a whole number" if whole else "a number"
            self._fail(key, value, f"must be {word} from {key.low:g} to {key.high:g}")
            return key.default
        if not key.low <= value <= key.high:
            self._fail(key, value, f"must be from {key.low:g} to {key.high:g}")
            return key.default
        return int(value) if whole else float(value)

    def _file(self, key: Key, value: Any) -> Path:
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
        elif key.kind == KeyKind.PRIVATE_FILE and _exposed(mode, path.stat().st_uid):
            self._fail(
                key,
                value,
                f"the private key can be read or changed by other users "
                f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path} (or, owned by root, "
                f"chmod 640 with the service's group, as install.sh sets it)",
            )
        return path

    def _directory(self, key: Key, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            self._fail(key, value, "must be the path of a folder (relative to the config file)")
            return Path()
        path = (self.path.parent / value).resolve()
        existing = next(folder for folder in (path, *path.parents) if folder.exists())
        if not existing.is_dir():
            self._fail(key, value, f"{existing} is not a folder")
        elif not os.access(existing, os.W_OK | os.X_OK):
            whom = "the folder" if existing == path else f"{existing}, where it would be made,"
            self._fail(key, value, f"{whom} is not writable by this user; fix its permissions")
        elif (mode := stat.S_IMODE(existing.stat().st_mode)) & 0o022:
            # Another user could delete the e-stop latch there, and a missing latch reads clear.
            whom = "the folder" if existing == path else f"{existing}, where it would be made,"
            self._fail(
                key,
                value,
                f"{whom} can be written by other users (mode {mode:o}), who could delete the "
                f"e-stop latch; run: chmod go-w {existing}",
            )
        return path

    def _board(self, key: Key, value: Any) -> str:
        # As in the AWS sample's installer, the environment variable wins over the file.
        if self.environ.get("MOTOR_DRIVER"):
            return self.environ["MOTOR_DRIVER"]
        if not isinstance(value, str) or not value:
            self._fail(key, value, f"must be one of {', '.join(drivers.board_names())}")
            return ""
        return value

    def _board_options(self, key: Key, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            self._fail(
                key,
                value,
                'must map board names to their options, e.g. {"adafruit": {"left": "motor1"}}',
            )
            return {}
        names = drivers.board_names()
        for board in sorted(set(value) - set(names)):
            self._fail(key, board, f"unknown board; choose from {', '.join(names)}")
        return value

    def _choice(self, key: Key, value: Any) -> str:
        if value not in key.choices:
            self._fail(key, value, f"must be one of {', '.join(key.choices)}")
            return key.default
        return value

    def _camera(self, key: Key, value: Any) -> str:
        names = sorted(entry.name for entry in entry_points(group=CAMERA_GROUP))
        if value not in names:
            self._fail(key, value, f"unknown camera source; installed: {', '.join(names)}")
            return key.default
        return value

    def _object(self, key: Key, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self._fail(key, value, 'must be a JSON object, e.g. {"width": 640}')
            return {}
        return value

    def _link_speed_limits(self, key: Key, value: Any) -> tuple[LinkSpeedLimit, ...]:
        example = '[{"above_ms": 250, "max_speed": 0.5}, {"above_ms": 600, "max_speed": 0.2}]'
        if not isinstance(value, list):
            self._fail(key, value, f"must be a list of rows, e.g. {example}")
            return ()
        rows: list[LinkSpeedLimit] = []
        for number, row in enumerate(value):
            where = replace(key, name=f"{key.name}[{number}]")
            if not isinstance(row, dict) or set(row) != {"above_ms", "max_speed"}:
                self._fail(where, row, 'must be {"above_ms": <ms>, "max_speed": <0..1>}')
                return ()
            above, speed = row["above_ms"], row["max_speed"]
            if not _is_number(above) or not 0 <= above <= 60000:
                self._fail(where, row, "above_ms must be a number of milliseconds, 0..60000")
                return ()
            if not _is_number(speed) or not 0 <= speed <= 1:
                self._fail(where, row, "max_speed must be a number from 0 (stop) to 1 (full)")
                return ()
            if rows and above <= rows[-1].above_ms:
                self._fail(where, row, "rows must rise in above_ms: sort them")
                return ()
            if rows and speed > rows[-1].max_speed:
                self._fail(
                    where, row, "a worse link may not allow more speed: max_speed must not rise"
                )
                return ()
            rows.append(LinkSpeedLimit(float(above), float(speed)))
        return tuple(rows)

    def _obstacle_guard(self, key: Key, value: Any) -> GuardSettings | None:
        example = '{"sensor": "vl53l0x", "slow_m": 0.5, "stop_m": 0.2}'
        if value == {}:
            return None
        if not isinstance(value, dict) or "sensor" not in value:
            self._fail(key, value, f"must be {{}} (no guard) or like {example}")
            return None
        unknown = sorted(set(value) - {"sensor", "options", "slow_m", "stop_m"})
        if unknown:
            self._fail(
                key, value, f"unknown keys {unknown}; known: sensor, options, slow_m, stop_m"
            )
            return None
        sensor, options = value["sensor"], value.get("options", {})
        slow, stop = value.get("slow_m", 0.5), value.get("stop_m", 0.2)
        if sensor not in distance.sensor_names():
            self._fail(key, value, f"sensor must be one of {', '.join(distance.sensor_names())}")
            return None
        if not isinstance(options, dict):
            self._fail(key, value, 'options must be a JSON object, e.g. {"i2c_address": 41}')
            return None
        if not (_is_number(slow) and _is_number(stop) and 0 < stop < slow <= 10):
            self._fail(key, value, "need 0 < stop_m < slow_m <= 10 (metres)")
            return None
        problems = distance.check(sensor, options)
        self.problems.extend(f"{key.name}: {problem}" for problem in problems)
        return None if problems else GuardSettings(sensor, options, float(slow), float(stop))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
