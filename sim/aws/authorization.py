"""The simulator's API Gateway authorization step: the real JWT authorizer, evaluated the
way API Gateway evaluates it.

The HTTP front calls :func:`authorize` before the publish handler, with the real
authorizer built as the template would configure it::

    from cloud.authorizer.app import Authorizer
    from sim.aws import authorization, dev_identity

    identity = dev_identity.dev_identity(state_dir, robot=thing_name)
    authorizer = authorization.cached(Authorizer.from_environ(identity.environ))
    result = authorization.authorize(headers, authorization.method_arn("POST", "/publish"),
                                     authorizer)
    if result.allowed:
        event["requestContext"]["authorizer"] = result.context

``sim.aws.api_gateway.Front`` takes the same through :func:`front_authorizer`, whose answer is
``(status, body)`` to refuse or ``(None, context)`` to go on.

As in API Gateway: a missing ``Authorization`` header, or one that fails the template's
validation expression, is a 401 without calling the authorizer; an authorizer that raises
``Unauthorized`` is a 401; a policy whose Deny matches the method ARN, or that has no
matching Allow, is a 403; an authorizer that fails otherwise or returns a malformed answer
is a 500. Error bodies are API Gateway's (``{"message": ...}``) and the headers carry the
same CORS headers as the template's gateway responses. :func:`cached` keeps the
authorizer's answers per token for the template's cache time, as API Gateway does: the
cached policy is evaluated against each request's method ARN, which is why the authorizer
returns a policy for everything the token allows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import translate
from functools import lru_cache
from typing import Any

from robot.contracts.verify import VALIDATION_EXPRESSION

REGION = "local"
ACCOUNT = "000000000000"
API_ID = "sim"
STAGE = "sim"

# The template's CORS with its default CorsAllowOrigin (none: the console's own origin only):
# on the preflight answer, and (with ERROR_HEADERS' content type) on every error API Gateway
# answers itself.
CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Content-Type,Authorization",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
}
ERROR_HEADERS = {"Content-Type": "application/json", **CORS_HEADERS}
_VALID_HEADER = re.compile(VALIDATION_EXPRESSION)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
FrontAuthorizer = Callable[[Mapping[str, str], str], tuple[int | None, dict[str, Any]]]


@dataclass(frozen=True)
class AuthResult:
    """``status`` 200 with ``context`` (for ``event["requestContext"]["authorizer"]``, with
    ``principalId`` as API Gateway adds it), or an error ``status`` with ``body`` and
    ``headers`` to answer with."""

    status: int
    body: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.status == 200


def method_arn(
    method: str,
    path: str,
    *,
    region: str = REGION,
    account: str = ACCOUNT,
    api_id: str = API_ID,
    stage: str = STAGE,
) -> str:
    """The ARN API Gateway passes to the authorizer for a request:
    ``arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/resource/path``, where the path
    is the request path without query string or leading slash, path parameters filled in
    (``POST /robots/r1/publish`` -> ``…:sim/sim/POST/robots/r1/publish``)."""
    resource = path.split("?", 1)[0].lstrip("/")
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}/{resource}"


CACHE_SECONDS = 60  # the template's AuthorizerCacheSeconds default
_CACHE_LIMIT = 1024


def cached(
    handler: Handler, seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
) -> Handler:
    """``handler`` with its answers kept per token for ``seconds``, as API Gateway keeps them.

    A refusal (an exception) is not kept, so a token is asked about again next time.
    """
    answers: dict[str, tuple[float, dict[str, Any]]] = {}

    def cached_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        token = event["authorizationToken"]
        now = clock()
        hit = answers.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = handler(event, context)
        if len(answers) >= _CACHE_LIMIT:
            for stale in [key for key, (until, _) in answers.items() if until <= now]:
                del answers[stale]
            if len(answers) >= _CACHE_LIMIT:
                answers.clear()
        answers[token] = (now + seconds, answer)
        return answer

    return cached_handler


def front_authorizer(handler: Handler) -> FrontAuthorizer:
    """:func:`authorize` in the shape ``sim.aws.api_gateway.Front(authorize=...)`` takes: ``(None,
    context)`` to go on, or ``(status, body)`` to refuse."""

    def authorize_for_front(
        headers: Mapping[str, str], arn: str
    ) -> tuple[int | None, dict[str, Any]]:
        result = authorize(headers, arn, handler)
        if result.allowed:
            return None, dict(result.context or {})
        return result.status, dict(result.body or {})

    return authorize_for_front


def authorize(headers: Mapping[str, str], method_arn: str, handler: Handler) -> AuthResult:
    """Authorize one request as API Gateway would with the template's TOKEN authorizer
    ``handler``. ``headers`` are matched case-insensitively."""
    token = _header(headers, "Authorization")
    if token is None or not _VALID_HEADER.fullmatch(token):
        return _error(401, "Unauthorized")
    try:
        answer = handler(
            {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}, None
        )
    except Exception as exc:
        if str(exc) == "Unauthorized":
            return _error(401, "Unauthorized")
        return _error(500, None)
    try:
        effect = evaluate(answer["policyDocument"], method_arn)
        context = _context(answer)
    except (KeyError, TypeError, ValueError):
        return _error(500, None)
    if effect == "Deny":
        return _error(403, "User is not authorized to access this resource with an explicit deny")
    if effect is None:
        return _error(403, "User is not authorized to access this resource")
    return AuthResult(200, context=context)


def evaluate(policy_document: Mapping[str, Any], method_arn: str) -> str | None:
    """``"Deny"`` if a Deny statement matches, else ``"Allow"`` if an Allow does, else None.
    Actions and resources match IAM-style: ``*`` any run of characters (``/`` included),
    ``?`` any one character; actions case-insensitively."""
    statements = policy_document["Statement"]
    if isinstance(statements, Mapping):
        statements = [statements]
    matched = set()
    for statement in statements:
        effect = statement["Effect"]
        if (
            effect not in ("Allow", "Deny")
            or "NotAction" in statement
            or "NotResource" in statement
            or "Condition" in statement
        ):
            raise ValueError("unsupported policy statement")
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        if any(_glob(action.lower()).fullmatch("execute-api:invoke") for action in actions) and any(
            _glob(resource).fullmatch(method_arn) for resource in resources
        ):
            matched.add(effect)
    return "Deny" if "Deny" in matched else "Allow" if "Allow" in matched else None


def _context(answer: Mapping[str, Any]) -> dict[str, Any]:
    principal = answer["principalId"]
    context = dict(answer.get("context") or {})
    # API Gateway refuses (500) an authorizer context holding anything but plain values.
    if not isinstance(principal, str) or not all(
        isinstance(value, str | int | float | bool) for value in context.values()
    ):
        raise ValueError("malformed authorizer answer")
    return {**context, "principalId": principal}


def _as_list(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("Action and Resource must be strings or lists of strings")
    return items


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    # fnmatch's translation, minus character classes, which IAM does not have.
    return re.compile(translate(pattern.replace("[", "[[]")), re.DOTALL)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _error(status: int, message: str | None) -> AuthResult:
    return AuthResult(status, body={"message": message}, headers=dict(ERROR_HEADERS))
