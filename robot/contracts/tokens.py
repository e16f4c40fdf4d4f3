"""Operator tokens for teams without an identity provider: a key pair whose public half the
authorizer trusts, and short-lived JWTs signed with the private half.

The private key lives in Secrets Manager or in a local PEM file; the authorizer only ever
sees the public key. No file access here (``robot keys init`` writes keys): the guest-link
Lambda ships this module.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from robot.contracts import access

# The template's JwtIssuer and JwtAudience defaults (a test keeps them equal).
DEFAULT_ISSUER = "urn:telepresence-robot:operators"
DEFAULT_AUDIENCE = "telepresence-robot"
KEY_ALGORITHMS = ("ES256", "RS256", "RS512")
# A token cannot be revoked short of replacing the key pair: keep lifetimes short.
MAX_TTL_SECONDS = access.MAX_TOKEN_LIFETIME_SECONDS
_TTL_RE = re.compile(r"(\d+)\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """Seconds from ``90``, ``30s``, ``15m``, ``1h`` or ``7d``; ValueError otherwise."""
    match = _TTL_RE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 1h or 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"a token must live from 1 second to {MAX_TTL_SECONDS // 86400} days")
    return seconds


def generate_private_key(algorithm: str = "ES256") -> Any:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm in ("RS256", "RS512"):
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ValueError(f"choose one of {', '.join(KEY_ALGORITHMS)}")


def private_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Any) -> str:
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_line(pem: str) -> str:
    """The PEM body in one line: what the template's JwtPublicKey parameter takes."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def load_private_key(pem: str | bytes) -> Any:
    data = pem.encode() if isinstance(pem, str) else pem
    return serialization.load_pem_private_key(data, password=None)


def algorithm_for(key: Any, requested: str | None = None) -> str:
    """The signing algorithm for ``key``: ES256 for P-256, RS256 (or RS512) for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        allowed = ("ES256",)
    elif isinstance(key, rsa.RSAPrivateKey):
        allowed = ("RS256", "RS512")
    else:
        raise ValueError("the key must be an EC P-256 or an RSA private key")
    if requested is None:
        return allowed[0]
    if requested not in allowed:
        raise ValueError(f"a {type(key).__name__} signs {' or '.join(allowed)}, not {requested}")
    return requested


def mint(
    key: Any,
    subject: str,
    scopes: Iterable[str],
    ttl_seconds: int,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    robots: Iterable[str] | None = None,
    algorithm: str | None = None,
    now: float | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A signed JWT with ``sub``, ``scope``, ``iat``/``nbf``/``exp``, ``iss``, ``aud`` and a
    ``jti``; with ``robots``, only those robots may be driven with it; ``claims`` besides."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in access.KNOWN_SCOPES]
    if not subject or unknown or not scopes:
        raise ValueError(
            f"need a subject and scopes from {', '.join(access.KNOWN_SCOPES)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    issued = int(time.time() if now is None else now)
    claims = {
        **(claims or {}),
        "sub": subject,
        "scope": " ".join(scopes),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if robots is not None:
        names = sorted(set(robots))
        if not all(access.is_robot_name(name) for name in names):
            raise ValueError("robot names are 1 to 128 letters, digits, '-' or '_'")
        claims["robots"] = names
    return jwt.encode(claims, key, algorithm=algorithm_for(key, algorithm))


def read_secret(client: Any, secret_id: str) -> str:
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


# Guest links: a token for one robot, view-only unless it may drive, short-lived, its guest's
# name in the ``guest`` claim (which consoles show beside the name) and in its subject.
GUEST_CLAIM = "guest"
GUEST_SUBJECT_PREFIX = "guest:"
DEFAULT_GUEST_TTL_SECONDS = 3600
MAX_GUEST_TTL_SECONDS = 24 * 3600
MAX_GUEST_NAME_LENGTH = 64


def guest_name(name: object) -> str:
    """A guest's name as a link carries it; ValueError for one it cannot."""
    if not isinstance(name, str) or not name.strip() or not name.isprintable():
        raise ValueError("the guest's name must be printable text")
    if len(name.strip()) > MAX_GUEST_NAME_LENGTH:
        raise ValueError(f"the guest's name may have at most {MAX_GUEST_NAME_LENGTH} characters")
    return name.strip()


@dataclass(frozen=True)
class GuestToken:
    token: str
    subject: str
    expires: int  # epoch seconds


def mint_guest(
    key: Any,
    name: str,
    robot: str,
    ttl_seconds: int = DEFAULT_GUEST_TTL_SECONDS,
    *,
    drive: bool = False,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    algorithm: str | None = None,
    now: float | None = None,
) -> GuestToken:
    """A guest link's token for ``robot``: robot:view (and robot:drive with ``drive``, never
    robot:admin), for at most MAX_GUEST_TTL_SECONDS; each link its own subject, so two
    guests of one name are two operators."""
    name = guest_name(name)
    if not 0 < ttl_seconds <= MAX_GUEST_TTL_SECONDS:
        raise ValueError(f"a guest link lives from 1 second to {MAX_GUEST_TTL_SECONDS // 3600} h")
    scopes = [access.SCOPE_VIEW, access.SCOPE_DRIVE] if drive else [access.SCOPE_VIEW]
    subject = f"{GUEST_SUBJECT_PREFIX}{name}:{uuid.uuid4().hex[:8]}"
    issued = int(time.time() if now is None else now)
    token = mint(
        key,
        subject,
        scopes,
        ttl_seconds,
        issuer=issuer,
        audience=audience,
        robots=[robot],
        algorithm=algorithm,
        now=issued,
        claims={GUEST_CLAIM: name},
    )
    return GuestToken(token, subject, issued + ttl_seconds)
