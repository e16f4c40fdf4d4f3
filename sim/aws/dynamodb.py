"""DynamoDB's ``PutItem`` and ``GetItem`` with condition expressions, for the viewer
Lambda the simulator runs (its table of viewer URLs per subject).

The AWS JSON 1.0 protocol as botocore speaks it: ``POST /`` with ``X-Amz-Target:
DynamoDB_20120810.PutItem`` (or ``GetItem``), signed with Signature Version 4. As in AWS:

- a table has a key schema (a partition key, optionally a sort key, each ``S`` or ``N``);
  an item without its key attributes, or with the wrong type, is a ``ValidationException``;
- ``ConditionExpression`` is checked against the item stored under the same key, and the
  write is refused with ``ConditionalCheckFailedException`` when it is false; a write is
  atomic per item (one lock here);
- expression placeholders: ``#name`` from ``ExpressionAttributeNames`` and ``:value`` from
  ``ExpressionAttributeValues``; one that is used but not given, or given but not used, is
  a ``ValidationException``, as AWS answers;
- comparisons (``= < <= > >=``) of a missing attribute, or of values of different
  types, are false, and ``<>`` true; numbers compare as numbers;
- a table's TTL attribute does not delete anything at once: AWS deletes expired items
  within days, and until then reads and conditions see them. This stand-in never does.

The grammar understood is a subset of AWS's: comparisons, ``attribute_exists``,
``attribute_not_exists``, ``AND``, ``OR``, ``NOT`` and parentheses on top-level attribute
names. Anything else is a ``ValidationException`` naming what was not understood, never a
silent guess. Each table has the principals whose policy allows writing it; anyone else
gets ``AccessDeniedException``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

from aiohttp import web

from sim.aws import sigv4
from sim.aws.serving import serve

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
MAX_ITEM_BYTES = 400 * 1024
KEY_TYPES = frozenset({"S", "N"})

Value = Mapping[str, Any]  # one attribute value in DynamoDB's JSON: {"S": "…"}, {"N": "1"}
Item = dict[str, Value]


class DynamoDbError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _validation(message: str) -> DynamoDbError:
    return DynamoDbError("ValidationException", message)


@dataclass
class Table:
    name: str
    key: tuple[tuple[str, str], ...]  # (attribute, type): the partition key, then the sort key
    writers: frozenset[str]
    ttl_attribute: str | None = None

    def __post_init__(self) -> None:
        self.items: dict[tuple[str, ...], Item] = {}
        self.lock = threading.Lock()

    def key_of(self, item: Mapping[str, Value]) -> tuple[str, ...]:
        values = []
        for name, kind in self.key:
            value = item.get(name)
            if value is None:
                raise _validation("One of the required keys was not given a value")
            if set(value) != {kind}:
                raise _validation(
                    "One or more parameter values were invalid: Type mismatch for key "
                    f"{name} expected: {kind} actual: {next(iter(value), '?')}"
                )
            values.append(str(value[kind]))
        return tuple(values)


class DynamoDb:
    """The tables and the two calls; :meth:`call` answers one signed request."""

    def __init__(self, credentials: sigv4.CredentialStore, region: str) -> None:
        self.credentials = credentials
        self.region = region
        self.tables: dict[str, Table] = {}

    def create_table(
        self,
        name: str,
        key: tuple[tuple[str, str], ...],
        writers: set[str],
        ttl_attribute: str | None = None,
    ) -> Table:
        if not 1 <= len(key) <= 2 or any(kind not in KEY_TYPES for _, kind in key):
            raise ValueError("a key is one or two attributes of type S or N")
        self.tables[name] = Table(name, key, frozenset(writers), ttl_attribute)
        return self.tables[name]

    def call(self, request: sigv4.WireRequest) -> tuple[int, dict[str, Any]]:
        try:
            verified = sigv4.verify_wire(self.credentials, SERVICE, self.region, request)
        except sigv4.SignatureError as exc:
            return exc.status, _error(exc.code, str(exc))
        headers = {name.lower(): value for name, value in request.headers.items()}
        operations: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "PutItem": self._put_item,
            "GetItem": self._get_item,
        }
        operation = operations.get(headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX))
        if operation is None:
            return HTTPStatus.BAD_REQUEST, _error("UnknownOperationException", "")
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise _validation("the request body must be a JSON object")
            return HTTPStatus.OK, operation(verified.principal, body)
        except ValueError:
            return HTTPStatus.BAD_REQUEST, _error("SerializationException", "invalid JSON")
        except DynamoDbError as exc:
            return HTTPStatus.BAD_REQUEST, _error(exc.code, str(exc))

    def _table(self, principal: str, body: dict[str, Any], action: str) -> Table:
        name = body.get("TableName")
        table = self.tables.get(name) if isinstance(name, str) else None
        if table is None:
            raise DynamoDbError("ResourceNotFoundException", "Requested resource not found")
        if principal not in table.writers:
            raise DynamoDbError(
                "AccessDeniedException",
                f"{principal} is not authorized to perform: dynamodb:{action} on table {name}",
            )
        return table

    def _put_item(self, principal: str, body: dict[str, Any]) -> dict[str, Any]:
        table = self._table(principal, body, "PutItem")
        item = body.get("Item")
        if not isinstance(item, dict) or not all(_is_value(v) for v in item.values()):
            raise _validation("Item must be a map of attribute values")
        if len(json.dumps(item)) > MAX_ITEM_BYTES:
            raise _validation("Item size has exceeded the maximum allowed size")
        key = table.key_of(item)
        condition = _Condition.parse(body)
        with table.lock:
            if condition is not None and not condition(table.items.get(key)):
                raise DynamoDbError(
                    "ConditionalCheckFailedException", "The conditional request failed"
                )
            table.items[key] = item
        return {}

    def _get_item(self, principal: str, body: dict[str, Any]) -> dict[str, Any]:
        table = self._table(principal, body, "GetItem")
        given = body.get("Key")
        if not isinstance(given, dict) or set(given) != {name for name, _ in table.key}:
            raise _validation("The provided key element does not match the schema")
        with table.lock:
            item = table.items.get(table.key_of(given))
        return {} if item is None else {"Item": item}


def _is_value(value: object) -> bool:
    return isinstance(value, dict) and len(value) == 1


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": ERROR_PREFIX + code, "message": message}


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<op><>|<=|>=|[=<>(),])|(?P<word>[#:]?[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>\S))"
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
Predicate = Callable[[Item | None], bool]


class _Condition:
    """A parsed ``ConditionExpression``: a predicate on the stored item (None: no item)."""

    def __init__(self, text: str, names: Mapping[str, str], values: Mapping[str, Value]):
        self.tokens = [m for m in _TOKEN_RE.finditer(text) if m.group(0).strip()]
        for token in self.tokens:
            if token.group("bad"):
                raise _validation(
                    f'Invalid ConditionExpression: Syntax error; token: "{token.group("bad")}"'
                )
        self.position = 0
        self.names, self.values = names, values
        self.used: set[str] = set()

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> Predicate | None:
        names = body.get("ExpressionAttributeNames") or {}
        values = body.get("ExpressionAttributeValues") or {}
        text = body.get("ConditionExpression")
        if text is None:
            if names or values:
                raise _validation(
                    "ExpressionAttributeNames and ExpressionAttributeValues can only be "
                    "specified when using expressions"
                )
            return None
        if not isinstance(text, str) or not text.strip():
            raise _validation("Invalid ConditionExpression: The expression can not be empty;")
        if not all(_is_value(v) for v in values.values()):
            raise _validation("ExpressionAttributeValues contains an invalid value")
        parser = cls(text, names, values)
        predicate = parser._or()
        if parser.position != len(parser.tokens):
            raise _validation(
                f'Invalid ConditionExpression: Syntax error; token: "{parser._peek()}"'
            )
        for kind, given in (("names", names), ("values", values)):
            unused = sorted(set(given) - parser.used)
            if unused:
                raise _validation(
                    f"Value provided in ExpressionAttribute{kind.capitalize()} unused in "
                    f"expressions: keys: {{{', '.join(unused)}}}"
                )
        return predicate

    def _peek(self) -> str:
        return (
            self.tokens[self.position].group(0).strip()
            if self.position < len(self.tokens)
            else "<EOF>"
        )

    def _next(self) -> str:
        token = self._peek()
        if token == "<EOF>":
            raise _validation("Invalid ConditionExpression: Syntax error; token: <EOF>")
        self.position += 1
        return token

    def _expect(self, wanted: str) -> None:
        token = self._next()
        if token != wanted:
            raise _validation(f'Invalid ConditionExpression: Syntax error; token: "{token}"')

    def _or(self) -> Predicate:
        left = self._and()
        while self._peek().upper() == "OR":
            self._next()
            left = _either(left, self._and())
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._peek().upper() == "AND":
            self._next()
            left = _both(left, self._not())
        return left

    def _not(self) -> Predicate:
        if self._peek().upper() == "NOT":
            self._next()
            inner = self._not()
            return lambda item: not inner(item)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token == "(":
            self._next()
            inner = self._or()
            self._expect(")")
            return inner
        if token in ("attribute_exists", "attribute_not_exists"):
            self._next()
            self._expect("(")
            name = self._path()
            self._expect(")")
            exists = token == "attribute_exists"
            return lambda item: (item is not None and name in item) == exists
        left = self._operand()
        operator = self._next()
        if operator not in _COMPARISONS:
            raise _validation(f'Invalid ConditionExpression: Syntax error; token: "{operator}"')
        right = self._operand()
        compare = _COMPARISONS[operator]

        def comparison(item: Item | None) -> bool:
            a, b = left(item), right(item)
            if a is None or b is None or a[0] != b[0]:
                return operator == "<>"  # a missing attribute or another type is not equal
            return compare(a[1], b[1])

        return comparison

    def _path(self) -> str:
        token = self._next()
        if token.startswith(":") or not re.fullmatch(r"#?[A-Za-z_][A-Za-z0-9_]*", token):
            raise _validation(f'Invalid ConditionExpression: Syntax error; token: "{token}"')
        if token.startswith("#"):
            if token not in self.names:
                raise _validation(
                    "Invalid ConditionExpression: An expression attribute name used in the "
                    f"document path is not defined; attribute name: {token}"
                )
            self.used.add(token)
            return self.names[token]
        return token

    def _operand(self) -> Callable[[Item | None], tuple[str, Any] | None]:
        if self._peek().startswith(":"):
            token = self._next()
            if token not in self.values:
                raise _validation(
                    "Invalid ConditionExpression: An expression attribute value used in "
                    f"expression is not defined; attribute value: {token}"
                )
            self.used.add(token)
            constant = _comparable(self.values[token])
            return lambda item: constant
        name = self._path()
        return lambda item: None if item is None or name not in item else _comparable(item[name])


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda item: a(item) or b(item)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda item: a(item) and b(item)


def _comparable(value: Value) -> tuple[str, Any] | None:
    """(type, value) that compares as DynamoDB compares: numbers as numbers."""
    kind, raw = next(iter(value.items()))
    if kind == "N":
        try:
            return kind, Decimal(raw)
        except (InvalidOperation, TypeError) as exc:
            message = f"The parameter cannot be converted to a numeric value: {raw}"
            raise _validation(message) from exc
    if kind in ("S", "B"):
        return kind, raw
    return kind, json.dumps(raw, sort_keys=True)


class DynamoDbService:
    """``db`` served over HTTP on ``host:port`` (0: any free port), an async context
    manager; its ``url`` is the ``endpoint_url`` of botocore's ``dynamodb`` client."""

    def __init__(self, db: DynamoDb, host: str = "127.0.0.1", port: int = 0) -> None:
        self.db = db
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> DynamoDbService:
        app = web.Application()
        app.router.add_post("/", self._call)
        self._runner, self.port = await serve(app, self.host, self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _call(self, request: web.Request) -> web.StreamResponse:
        wire = sigv4.WireRequest(
            request.method,
            request.host,
            request.raw_path.split("?", 1)[0],
            request.rel_url.raw_query_string,
            request.headers,
            await request.read(),
        )
        status, answer = self.db.call(wire)
        return web.json_response(answer, status=status, content_type="application/x-amz-json-1.0")
