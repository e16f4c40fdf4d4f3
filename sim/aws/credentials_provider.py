"""A local AWS IoT credentials provider: a device trades its client certificate for
temporary AWS credentials of a role alias, as with IoT Core's credentials endpoint.

    GET https://HOST:PORT/role-aliases/{alias}/credentials
    x-amzn-iot-thingname: <thing>              (mutual TLS with the thing's certificate)
    -> 200 {"credentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}

TLS requires a client certificate signed by the simulator's CA (no certificate: the
handshake fails). The thing name must equal the certificate's common name (the simulator's
certificates carry the thing name there, as the thing is attached to its certificate in
AWS): else 403. An unknown role alias: 404. The credentials go into the
:class:`~sim.aws.sigv4.CredentialStore` the local services check signatures against, with
the role alias's grants for that thing.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.aws.serving import serve
from sim.aws.sigv4 import CredentialStore

THING_HEADER = "x-amzn-iot-thingname"
DEFAULT_DURATION = datetime.timedelta(hours=1)

# For a thing name, what credentials of this role alias may do.
Grants = Callable[[str], Any]


class CredentialsProvider:
    """The provider on ``host:port`` (port 0: any free port), as an async context manager.

    ``role_aliases`` maps each alias to the grants of its credentials for a thing;
    ``server_cert``/``server_key`` are the service's identity (a certificate for
    ``localhost``/``127.0.0.1``) and ``ca`` the CA its clients' certificates must chain to.
    """

    def __init__(
        self,
        store: CredentialStore,
        role_aliases: Mapping[str, Grants],
        *,
        ca: Path,
        server_cert: Path,
        server_key: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        duration: datetime.timedelta = DEFAULT_DURATION,
    ) -> None:
        self.store = store
        self.role_aliases = dict(role_aliases)
        self.host = host
        self.port = port
        self.duration = duration
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca))
        self._ssl.verify_mode = ssl.CERT_REQUIRED
        self._ssl.load_cert_chain(str(server_cert), str(server_key))
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        """``host:port``, the form of ``IOT_GET_CREDENTIAL_ENDPOINT`` (no scheme)."""
        return f"{self.host}:{self.port}"

    async def __aenter__(self) -> CredentialsProvider:
        app = web.Application()
        app.router.add_get("/role-aliases/{alias}/credentials", self._credentials)
        self._runner, self.port = await serve(app, self.host, self.port, self._ssl)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _credentials(self, request: web.Request) -> web.Response:
        alias = request.match_info["alias"]
        common_name = _common_name(
            request.transport.get_extra_info("peercert") if request.transport else None
        )
        thing = request.headers.get(THING_HEADER)
        if common_name is None:
            return _refuse(403, "Access Denied")
        if not thing:
            return _refuse(400, f"the {THING_HEADER} header is required")
        if thing != common_name:
            return _refuse(403, "Access Denied")
        grants = self.role_aliases.get(alias)
        if grants is None:
            return _refuse(404, "Role alias does not exist")
        issued = self.store.issue(f"{alias}/{thing}", self.duration, grants(thing))
        assert issued.expiration is not None
        return web.json_response(
            {
                "credentials": {
                    "accessKeyId": issued.access_key_id,
                    "secretAccessKey": issued.secret_access_key,
                    "sessionToken": issued.session_token,
                    "expiration": issued.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            }
        )


def _common_name(peercert: dict[str, Any] | None) -> str | None:
    """The subject's common name out of ``ssl``'s decoded peer certificate."""
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)
