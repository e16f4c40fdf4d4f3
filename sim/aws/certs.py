"""Certificates for the simulator's broker: a local CA, the broker's server certificate and
client certificates for the robots and the publisher, the way IoT Core issues them: each
robot's certificate carries its thing name as its CN."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from robot.posix.files import write_atomic

PUBLISHER = "publisher"
_CA_NAME = "telepresence-robot simulator CA"
_LIFETIME = datetime.timedelta(days=365)
# Reused files must stay valid for at least this long, so a session never outlives its certs.
_MARGIN = datetime.timedelta(days=1)
# Tolerates a clock that is a little behind the one that issued the certificates.
_BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Identity:
    """A certificate and its private key, both PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class SimCerts:
    """Everything the broker and its clients need: the CA that signs every identity.
    ``robot`` is the first robot's; ``things`` has every robot's, by thing name, in order."""

    ca: Path
    server: Identity
    robot: Identity
    publisher: Identity
    things: dict[str, Identity] = field(default_factory=dict)


def make_certs(
    directory: Path, thing_name: str, *others: str, server_addresses: tuple[str, ...] = ()
) -> SimCerts:
    """Certificates in ``directory`` for ``thing_name`` and the ``others`` robots: reused if
    still valid, else made anew. The server's names localhost and 127.0.0.1, and
    ``server_addresses`` (a test network's, where the services are not on loopback)."""
    directory = Path(directory)
    robot = _identity(directory, "robot")
    certs = SimCerts(
        ca=directory / "ca.pem",
        server=_identity(directory, "server"),
        robot=robot,
        publisher=_identity(directory, "publisher"),
        things={
            thing_name: robot,
            **{name: _identity(directory, f"robot-{name}") for name in others},
        },
    )
    if not _reusable(certs, server_addresses):
        _generate(directory, certs, server_addresses)
    return certs


def make_untrusted_identity(directory: Path, common_name: str) -> Identity:
    """A client identity named ``common_name`` but signed by a CA the broker does not trust."""
    directory = Path(directory)
    ca_key, ca_cert = _new_ca("untrusted CA")
    identity = _identity(directory, f"untrusted-{common_name}")
    _issue(directory, identity, ca_key, ca_cert, _client_profile(common_name))
    return identity


def _identity(directory: Path, stem: str) -> Identity:
    return Identity(cert=directory / f"{stem}.pem", key=directory / f"{stem}.key")


def _reusable(certs: SimCerts, server_addresses: tuple[str, ...]) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(certs.ca.read_bytes())
        server = x509.load_pem_x509_certificate(certs.server.cert.read_bytes())
        san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        if san != _server_profile(server_addresses).san:
            return False
        deadline = datetime.datetime.now(datetime.UTC) + _MARGIN
        for identity in (certs.server, certs.publisher, *certs.things.values()):
            cert = x509.load_pem_x509_certificate(identity.cert.read_bytes())
            key = serialization.load_pem_private_key(identity.key.read_bytes(), password=None)
            cert.verify_directly_issued_by(ca)
            if cert.not_valid_after_utc < deadline or key.public_key() != cert.public_key():
                return False
        names = {
            name: _common_name(x509.load_pem_x509_certificate(identity.cert.read_bytes()))
            for name, identity in certs.things.items()
        }
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return all(name == cn for name, cn in names.items()) and ca.not_valid_after_utc >= deadline


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _generate(directory: Path, certs: SimCerts, server_addresses: tuple[str, ...]) -> None:
    # mode only applies when the directory is new: an existing one is the caller's to manage.
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The CA key is never written: a new thing name simply gets a new CA and new certificates.
    ca_key, ca_cert = _new_ca(_CA_NAME)
    write_atomic(certs.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _issue(directory, certs.server, ca_key, ca_cert, _server_profile(server_addresses))
    for name, identity in certs.things.items():
        _issue(directory, identity, ca_key, ca_cert, _client_profile(name))
    _issue(directory, certs.publisher, ca_key, ca_cert, _client_profile(PUBLISHER))


@dataclass(frozen=True)
class _Profile:
    common_name: str
    usage: x509.ObjectIdentifier
    san: x509.SubjectAlternativeName | None = None


def _server_profile(addresses: tuple[str, ...] = ()) -> _Profile:
    ips = [x509.IPAddress(ipaddress.ip_address(a)) for a in ("127.0.0.1", *addresses)]
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), *ips])
    return _Profile("localhost", ExtendedKeyUsageOID.SERVER_AUTH, san)


def _client_profile(common_name: str) -> _Profile:
    return _Profile(common_name, ExtendedKeyUsageOID.CLIENT_AUTH)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    lifetime: datetime.timedelta,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(*, digital_signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _new_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key(), _LIFETIME * 10)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue(
    directory: Path,
    identity: Identity,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    profile: _Profile,
) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        _builder(_name(profile.common_name), ca_cert.subject, key.public_key(), _LIFETIME)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([profile.usage]), critical=False)
    )
    if profile.san is not None:
        builder = builder.add_extension(profile.san, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(identity.key, key_pem, 0o600)
    write_atomic(identity.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
