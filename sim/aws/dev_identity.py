"""The simulator's dev identity: a key pair made once per state directory, the environment
the authorizer needs to trust it, and tokens signed with it.

    identity = dev_identity(state_dir, robot="sim-robot")
    identity.environ        # JWT_ISSUER, JWT_AUDIENCE, JWT_PUBLIC_KEY, ROBOT_NAME
    identity.authorization  # "Bearer <JWT>" with robot:drive for sim-robot, valid 12 h

The issuer differs from the operator tokens' default, so a dev token is refused by a
deployed stack and an operator token by the simulator.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot.contracts import access, tokens
from robot.posix import files

DEV_ISSUER = "urn:telepresence-robot:sim"
DEV_AUDIENCE = tokens.DEFAULT_AUDIENCE
DEV_SUBJECT = "sim-operator"
KEY_FILE = "dev-token-key.pem"
DEV_TTL_SECONDS = 12 * 3600


@dataclass(frozen=True)
class DevIdentity:
    environ: dict[str, str]
    token: str

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return f"Bearer {self.token}"


def dev_key(state_dir: Path | str) -> Any:
    """The dev signing key (ES256), created on first use as ``state_dir/dev-token-key.pem``
    (mode 0600) and read from there afterwards."""
    path = Path(state_dir) / KEY_FILE
    if not path.exists():
        # Another process may make it first; then use theirs.
        with contextlib.suppress(FileExistsError):
            files.write_private(path, tokens.private_pem(tokens.generate_private_key("ES256")))
    return tokens.load_private_key(path.read_bytes())


def dev_environment(state_dir: Path | str, robot: str) -> dict[str, str]:
    """What the authorizer (and the publish handler's ROBOT_NAME) need for the simulator."""
    return {
        "JWT_ISSUER": DEV_ISSUER,
        "JWT_AUDIENCE": DEV_AUDIENCE,
        "JWT_PUBLIC_KEY": tokens.public_pem(dev_key(state_dir)),
        "ROBOT_NAME": robot,
    }


def dev_token(
    state_dir: Path | str,
    robot: str,
    scopes: Iterable[str] = (access.SCOPE_DRIVE,),
    ttl_seconds: int = DEV_TTL_SECONDS,
    subject: str = DEV_SUBJECT,
    fleet: Sequence[str] = (),
) -> str:
    """A token from the dev key, limited to ``robot`` and the ``fleet`` robots."""
    return tokens.mint(
        dev_key(state_dir),
        subject,
        scopes,
        ttl_seconds,
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        robots=[robot, *fleet],
    )


def dev_identity(state_dir: Path | str, robot: str, fleet: Sequence[str] = ()) -> DevIdentity:
    """The simulator's identity: its token may drive ``robot`` and every ``fleet`` robot."""
    return DevIdentity(dev_environment(state_dir, robot), dev_token(state_dir, robot, fleet=fleet))
