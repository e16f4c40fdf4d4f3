"""Secrets Manager's ``GetSecretValue``, for the guest-link Lambda the simulator runs.

The AWS JSON 1.1 protocol as boto3 speaks it: ``POST /`` with ``X-Amz-Target:
secretsmanager.GetSecretValue`` and ``{"SecretId": name or ARN}``, signed with Signature
Version 4 by credentials the simulator issued. As with an IAM policy naming one secret, each
secret has the principals that may read it: anyone else gets ``AccessDeniedException``, an
unknown secret ``ResourceNotFoundException`` (both HTTP 400, as AWS answers).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from sim.aws import sigv4

log = logging.getLogger(__name__)

SERVICE = "secretsmanager"
TARGET = "secretsmanager.GetSecretValue"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Secret:
    name: str
    arn: str
    value: str
    readers: frozenset[str]  # principals whose policy names this secret


class SecretsManager:
    def __init__(self, credentials: sigv4.CredentialStore, region: str) -> None:
        self.credentials = credentials
        self.region = region
        self._secrets: dict[str, Secret] = {}

    def create(self, name: str, value: str, readers: set[str]) -> str:
        """Store a secret only ``readers`` may read; its ARN (with AWS's six random
        characters after the name)."""
        suffix = secrets.token_hex(3)
        arn = f"arn:aws:secretsmanager:{self.region}:{ACCOUNT}:secret:{name}-{suffix}"
        self._secrets[name] = Secret(name, arn, value, frozenset(readers))
        return arn

    def call(self, request: sigv4.WireRequest) -> tuple[int, dict[str, Any]]:
        """Answer one request: (status, body)."""
        try:
            verified = sigv4.verify_wire(self.credentials, SERVICE, self.region, request)
        except sigv4.SignatureError as exc:
            return exc.status, _error(exc.code, str(exc))
        headers = {name.lower(): value for name, value in request.headers.items()}
        if headers.get("x-amz-target") != TARGET:
            return HTTPStatus.BAD_REQUEST, _error("UnknownOperationException", "")
        try:
            secret_id = json.loads(request.body)["SecretId"]
        except (ValueError, KeyError, TypeError):
            return HTTPStatus.BAD_REQUEST, _error("InvalidParameterException", "SecretId")
        secret = self._find(secret_id)
        if secret is None:
            message = "Secrets Manager can't find the specified secret."
            return HTTPStatus.BAD_REQUEST, _error("ResourceNotFoundException", message)
        if verified.principal not in secret.readers:
            log.warning("%s may not read %s", verified.principal, secret.name)
            message = f"{verified.principal} is not authorized to GetSecretValue on {secret.arn}"
            return HTTPStatus.BAD_REQUEST, _error("AccessDeniedException", message)
        return HTTPStatus.OK, {
            "ARN": secret.arn,
            "Name": secret.name,
            "SecretString": secret.value,
            "VersionId": str(uuid.uuid5(uuid.NAMESPACE_URL, secret.arn)),
            "VersionStages": ["AWSCURRENT"],
        }

    def _find(self, secret_id: object) -> Secret | None:
        if not isinstance(secret_id, str):
            return None
        by_arn = {secret.arn: secret for secret in self._secrets.values()}
        return self._secrets.get(secret_id) or by_arn.get(secret_id)


def _error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "Message": message}
