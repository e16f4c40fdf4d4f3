"""Temporary AWS credentials from the AWS IoT credentials provider, with the thing's certificate.

    GET https://{IOT_GET_CREDENTIAL_ENDPOINT}/role-aliases/{ROLE_ALIAS}/credentials
    x-amzn-iot-thingname: {thing}          (mutual TLS: the thing's certificate and key)

The answer is wrapped in botocore's ``RefreshableCredentials``, so every botocore client
and signer that holds it fetches new ones before they expire (botocore refreshes 15 minutes
ahead, and must 10 minutes ahead; the provider issues them for an hour by default).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.credentials import RefreshableCredentials

TIMEOUT_S = 10


class CredentialsError(RuntimeError):
    """No credentials; ``status`` is the provider's HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CredentialsProvider:
    endpoint: str  # host[:port], as IOT_GET_CREDENTIAL_ENDPOINT holds it
    role_alias: str
    thing_name: str
    certificate: Path
    private_key: Path
    root_ca: Path

    @property
    def url(self) -> str:
        return f"https://{self.endpoint}/role-aliases/{self.role_alias}/credentials"

    def fetch(self) -> dict[str, Any]:
        """One set of credentials, in the form RefreshableCredentials refreshes with."""
        context = ssl.create_default_context(cafile=str(self.root_ca))
        context.load_cert_chain(str(self.certificate), str(self.private_key))
        request = urllib.request.Request(
            self.url, headers={"x-amzn-iot-thingname": self.thing_name}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=TIMEOUT_S) as reply:
                body = json.load(reply)
        except urllib.error.HTTPError as exc:
            detail = exc.read(512).decode(errors="replace")
            raise CredentialsError(f"{self.url} answered {exc.code}: {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CredentialsError(f"no credentials from {self.url}: {exc}") from None
        try:
            issued = body["credentials"]
            return {
                "access_key": issued["accessKeyId"],
                "secret_key": issued["secretAccessKey"],
                "token": issued["sessionToken"],
                "expiry_time": issued["expiration"],
            }
        except (KeyError, TypeError):
            raise CredentialsError(f"{self.url} answered without credentials") from None

    def credentials(self) -> RefreshableCredentials:
        """Credentials that renew themselves from this provider before they expire."""
        from botocore.credentials import RefreshableCredentials  # fetch() alone needs none

        return RefreshableCredentials.create_from_metadata(
            self.fetch(), refresh_using=self.fetch, method="iot-credentials-provider"
        )
