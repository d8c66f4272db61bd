"""The SOQL subset the connector uses, parsed and evaluated like Salesforce does.

Supported: ``SELECT f1, Rel.f2 | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`` where ``cond`` combines comparisons
(``= != <> < <= > >= LIKE IN NOT IN``) with ``AND``, ``OR``, ``NOT`` and parentheses, on
string, number, boolean, null, date and datetime literals.

Why a real parser: the connector looks records up by e-mail, and e-mails may contain quotes
(``o'brien@example.com``). The sandbox must apply Salesforce's exact string-literal escape
rules, so that a correctly escaped value (``format_soql``) matches exactly one record, an
unescaped quote is a ``MALFORMED_QUERY``, and an injection attempt never matches everything.
Text comparisons are case-insensitive, as in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sandbox.salesforce import ids
from sandbox.salesforce.errors import ApiError, bad_request
from sandbox.salesforce.schema import Field, SObject
from sandbox.salesforce.values import parse_date, parse_datetime

ESCAPES = {
    "n": "\n",
    "N": "\n",
    "r": "\r",
    "R": "\r",
    "t": "\t",
    "T": "\t",
    "b": "\b",
    "B": "\b",
    "f": "\f",
    "F": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
}
KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
}
TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:T]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,|\.)
""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, end
    value: Any
    column: int
    like_literal: str = ""  # string literal keeping \% and \_ escaped, for LIKE patterns


class Source(Protocol):
    """What the evaluator needs from the org."""

    def sobject(self, name: str) -> SObject | None: ...

    def select(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        equals: Iterable[tuple[str, str]] = (),
    ) -> list[dict[str, Any]]: ...

    def lookup(self, record_id: str) -> tuple[str, dict[str, Any]] | None: ...


def malformed(query: str, column: int, message: str) -> ApiError:
    pointer = " " * max(column - 1, 0) + "^"
    return bad_request("MALFORMED_QUERY", f"\n{query}\n{pointer}\nERROR at Row:1:Column:{column}\n{message}")


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens; string literals are unescaped here (strictly)."""
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        if query[position] == "'":
            token, position = _string_literal(query, position)
            tokens.append(token)
            continue
        match = TOKEN.match(query, position)
        if match is None:
            raise malformed(query, position + 1, f"unexpected token: {query[position]}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(query) + 1))
    return tokens


def _string_literal(query: str, start: int) -> tuple[Token, int]:
    """Read '...' from ``start``; return the token and the position after the closing quote."""
    plain: list[str] = []
    like: list[str] = []
    position = start + 1
    while position < len(query):
        char = query[position]
        if char == "'":
            token = Token("string", "".join(plain), start + 1, "".join(like))
            return token, position + 1
        if char == "\\":
            escaped, width = _escape(query, position)
            plain.append(escaped if escaped not in ("\\%", "\\_") else escaped[1])
            like.append(escaped if escaped in ("\\%", "\\_") else re.escape(escaped))
            position += width
            continue
        plain.append(char)
        like.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
        position += 1
    raise malformed(query, start + 1, "unterminated string literal")


def _escape(query: str, position: int) -> tuple[str, int]:
    following = query[position + 1 : position + 2]
    if following in ESCAPES:
        return ESCAPES[following], 2
    if following in ("%", "_"):
        return "\\" + following, 2
    if following == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", query[position + 2 : position + 6]):
        return chr(int(query[position + 2 : position + 6], 16)), 6
    raise malformed(
        query,
        position + 1,
        f"Invalid string literal '{query[position : position + 2]}'. Illegal character sequence",
    )


# ---------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Comparison:
    path: FieldPath
    op: str  # = != < <= > >= like in notin
    value: Any  # python value, list for IN, compiled regex for LIKE
    literal_kind: str


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or / not
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Order:
    path: FieldPath
    descending: bool
    nulls_last: bool | None


@dataclass
class Query:
    text: str
    object_name: str
    fields: list[FieldPath] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0

    # ------------------------------------------------------------ helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.value.lower() in words

    def is_op(self, op: str) -> bool:
        return self.token.kind == "op" and self.token.value == op

    def fail(self, token: Token | None = None) -> ApiError:
        token = token or self.token
        text = token.value if token.kind != "end" else "<EOF>"
        if token.kind == "string":
            text = f"'{token.value}'"
        return malformed(self.query, token.column, f"unexpected token: {text}")

    def expect_word(self, word: str) -> None:
        if not self.is_word(word):
            raise self.fail()
        self.take()

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            raise self.fail()
        self.take()

    # ------------------------------------------------------------ grammar
    def parse(self) -> Query:
        self.expect_word("select")
        query = Query(self.query, "")
        self._select_list(query)
        self.expect_word("from")
        if self.token.kind != "ident":
            raise self.fail()
        query.object_name = self.take().value
        if self.is_word("where"):
            self.take()
            query.where = self._or()
        if self.is_word("order"):
            self.take()
            self.expect_word("by")
            query.order = self._order_list()
        if self.is_word("limit"):
            self.take()
            query.limit = self._integer()
        if self.is_word("offset"):
            self.take()
            query.offset = self._integer()
        if self.token.kind != "end":
            raise self.fail()
        return query

    def _select_list(self, query: Query) -> None:
        if self.is_word("count") and self.tokens[self.index + 1].value == "(":
            self.take()
            self.expect_op("(")
            self.expect_op(")")
            query.count = True
            return
        while True:
            query.fields.append(self._path())
            if not self.is_op(","):
                return
            self.take()

    def _path(self) -> FieldPath:
        token = self.token
        if token.kind != "ident" or token.value.lower() in KEYWORDS - {"first", "last"}:
            raise self.fail()
        parts = [self.take().value]
        while self.is_op("."):
            self.take()
            if self.token.kind != "ident":
                raise self.fail()
            parts.append(self.take().value)
        return FieldPath(tuple(parts), token.column)

    def _order_list(self) -> list[Order]:
        orders = []
        while True:
            path = self._path()
            descending = False
            if self.is_word("asc", "desc"):
                descending = self.take().value.lower() == "desc"
            nulls_last = None
            if self.is_word("nulls"):
                self.take()
                if not self.is_word("first", "last"):
                    raise self.fail()
                nulls_last = self.take().value.lower() == "last"
            orders.append(Order(path, descending, nulls_last))
            if not self.is_op(","):
                return orders
            self.take()

    def _integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.value.isdigit():
            raise self.fail(token)
        return int(token.value)

    def _or(self) -> Any:
        items = [self._and()]
        while self.is_word("or"):
            self.take()
            items.append(self._and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def _and(self) -> Any:
        items = [self._not()]
        while self.is_word("and"):
            self.take()
            items.append(self._not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def _not(self) -> Any:
        if self.is_word("not"):
            self.take()
            return BoolOp("not", (self._not(),))
        if self.is_op("("):
            self.take()
            inner = self._or()
            self.expect_op(")")
            return inner
        return self._comparison()

    def _comparison(self) -> Comparison:
        path = self._path()
        if self.is_word("like"):
            self.take()
            token = self.take()
            if token.kind != "string":
                raise self.fail(token)
            pattern = re.compile(f"^{token.like_literal}$", re.IGNORECASE | re.DOTALL)
            return Comparison(path, "like", pattern, "string")
        negated = self.is_word("not")
        if negated:
            self.take()
        if self.is_word("in"):
            self.take()
            values = self._value_list()
            return Comparison(path, "notin" if negated else "in", [v for v, _ in values], values[0][1])
        if negated or self.token.kind != "op" or self.token.value in "(),.":
            raise self.fail()
        op = {"<>": "!="}.get(self.token.value, self.token.value)
        self.take()
        value, kind = self._value()
        return Comparison(path, op, value, kind)

    def _value_list(self) -> list[tuple[Any, str]]:
        self.expect_op("(")
        values = [self._value()]
        while self.is_op(","):
            self.take()
            values.append(self._value())
        self.expect_op(")")
        return values

    def _value(self) -> tuple[Any, str]:
        token = self.take()
        if token.kind == "string":
            return token.value, "string"
        if token.kind == "number":
            return float(token.value), "number"
        if token.kind == "date":
            return parse_date(token.value), "date"
        if token.kind == "datetime":
            parsed = parse_datetime(token.value)
            if parsed is None:
                raise self.fail(token)
            return parsed, "datetime"
        if token.kind == "ident" and token.value.lower() in ("null", "true", "false"):
            word = token.value.lower()
            return {"null": None, "true": True, "false": False}[word], word
        raise self.fail(token)


def parse(query: str) -> Query:
    """Parse a SOQL query (raises ``ApiError`` MALFORMED_QUERY)."""
    return Parser(query.strip()).parse()


# ---------------------------------------------------------------------- execution
def invalid_field(query: Query, path: FieldPath, object_name: str) -> ApiError:
    pointer = " " * (path.column - 1) + "^"
    return bad_request(
        "INVALID_FIELD",
        f"\n{query.text}\n{pointer}\nERROR at Row:1:Column:{path.column}\n"
        f"No such column '{path.parts[-1]}' on entity '{object_name}'. If you are attempting "
        "to use a custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names.",
    )


@dataclass(frozen=True)
class Resolved:
    """A field path bound to metadata: direct field, or relationship + field of the target."""

    path: FieldPath
    field: Field
    relationship: Field | None = None
    target_field_name: str = ""


class Executor:
    """Runs a parsed query against the org's records."""

    def __init__(self, source: Source, version: str) -> None:
        self.source = source
        self.version = version

    def run(self, text: str) -> dict[str, Any]:
        query = parse(text)
        sobject = self.source.sobject(query.object_name)
        if sobject is None:
            raise bad_request(
                "INVALID_TYPE",
                f"\n{text}\n{' ' * (text.lower().find(' from ') + 6)}^\nERROR at Row:1:Column:"
                f"{text.lower().find(' from ') + 7}\nsObject type '{query.object_name}' is not "
                "supported. If you are attempting to use a custom object, be sure to append the "
                "'__c' after the entity name. Please reference your WSDL or the describe call "
                "for the appropriate names.",
            )
        selected = self._resolve_select(query, sobject)
        condition = self._bind(query, sobject, query.where)
        orders = [(self._resolve(query, sobject, o.path), o) for o in query.order]
        rows = self.source.select(sobject.name, lambda r: self._test(condition, r), equalities(condition))
        rows = self._sort(rows, orders)
        rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        if query.count:
            return {"totalSize": len(rows), "done": True, "records": []}
        records = [self._render(sobject.name, row, selected) for row in rows]
        return {"totalSize": len(records), "done": True, "records": records}

    # ------------------------------------------------------------ binding
    def _resolve(self, query: Query, sobject: SObject, path: FieldPath) -> Resolved:
        parts = path.parts
        if len(parts) > 1 and parts[0].lower() == sobject.name.lower():
            parts = parts[1:]
            path = FieldPath(parts, path.column)
        if len(parts) == 1:
            f = sobject.get_field(parts[0])
            if f is None:
                raise invalid_field(query, path, sobject.name)
            return Resolved(path, f)
        if len(parts) != 2:
            raise invalid_field(query, path, sobject.name)
        relation = next(
            (
                f
                for f in sobject.all_fields()
                if f.relationship_name and f.relationship_name.lower() == parts[0].lower()
            ),
            None,
        )
        if relation is None:
            raise invalid_field(query, FieldPath(parts[:1], path.column), sobject.name)
        for target_name in relation.reference_to:
            target = self.source.sobject(target_name)
            target_field = target.get_field(parts[1]) if target else None
            if target_field is not None:
                return Resolved(path, target_field, relation, target_field.name)
        raise invalid_field(query, path, relation.reference_to[0])

    def _resolve_select(self, query: Query, sobject: SObject) -> list[Resolved]:
        resolved: list[Resolved] = []
        seen: set[str] = set()
        for path in query.fields:
            item = self._resolve(query, sobject, path)
            key = item.path.text.lower()
            if key in seen:
                raise malformed(query.text, path.column, f"duplicate field selected: {path.text}")
            seen.add(key)
            resolved.append(item)
        return resolved

    def _bind(self, query: Query, sobject: SObject, node: Any) -> Any:
        if node is None:
            return None
        if isinstance(node, BoolOp):
            return BoolOp(node.op, tuple(self._bind(query, sobject, n) for n in node.items))
        resolved = self._resolve(query, sobject, node.path)
        return (resolved, node.op, self._bind_value(query, resolved.field, node))

    def _bind_value(self, query: Query, f: Field, node: Comparison) -> Any:
        if f.type in ("id", "reference") and node.op in ("=", "!=", "in", "notin"):
            values = node.value if isinstance(node.value, list) else [node.value]
            normalized = []
            for value in values:
                if value is None:
                    normalized.append(None)
                    continue
                full = ids.normalize(value) if isinstance(value, str) else None
                if full is None:
                    raise bad_request(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        f"\n{query.text}\n\nERROR at Row:1:Column:"
                        f"{node.path.column}\ninvalid ID field: {value}",
                    )
                normalized.append(full)
            return normalized if isinstance(node.value, list) else normalized[0]
        return node.value

    # ------------------------------------------------------------ evaluation
    def _value_of(self, row: dict[str, Any], resolved: Resolved) -> Any:
        if resolved.relationship is None:
            return row.get(resolved.field.name)
        target_id = row.get(resolved.relationship.name)
        found = self.source.lookup(target_id) if target_id else None
        return found[1].get(resolved.target_field_name) if found else None

    def _test(self, condition: Any, row: dict[str, Any]) -> bool:
        if condition is None:
            return True
        if isinstance(condition, BoolOp):
            results = (self._test(item, row) for item in condition.items)
            if condition.op == "and":
                return all(results)
            if condition.op == "or":
                return any(results)
            return not next(results)
        resolved, op, expected = condition
        return compare(resolved.field, self._value_of(row, resolved), op, expected)

    def _sort(self, rows: list[dict[str, Any]], orders: list[tuple[Resolved, Order]]) -> list[dict[str, Any]]:
        for resolved, order in reversed(orders):
            present = [r for r in rows if self._value_of(r, resolved) is not None]
            missing = [r for r in rows if self._value_of(r, resolved) is None]
            present.sort(
                key=lambda r, res=resolved: sort_key(res.field, self._value_of(r, res)),
                reverse=order.descending,
            )
            nulls_last = order.nulls_last if order.nulls_last is not None else order.descending
            rows = present + missing if nulls_last else missing + present
        return rows

    def _render(self, object_name: str, row: dict[str, Any], selected: list[Resolved]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": self.attributes(object_name, row["Id"])}
        for item in selected:
            if item.relationship is None:
                out[item.field.name] = row.get(item.field.name)
                continue
            self._render_related(out, row, item)
        return out

    def _render_related(self, out: dict[str, Any], row: dict[str, Any], item: Resolved) -> None:
        name = item.relationship.relationship_name  # type: ignore[union-attr]
        target_id = row.get(item.relationship.name)  # type: ignore[union-attr]
        found = self.source.lookup(target_id) if target_id else None
        if found is None:
            out.setdefault(name, None)
            return
        related = out.get(name) or {"attributes": self.attributes(found[0], target_id)}
        related[item.target_field_name] = found[1].get(item.target_field_name)
        out[name] = related

    def attributes(self, object_name: str, record_id: str) -> dict[str, str]:
        return {
            "type": object_name,
            "url": f"/services/data/v{self.version}/sobjects/{object_name}/{record_id}",
        }


NOT_TEXT_COMPARED = {"datetime", "date", "int", "double", "currency", "percent"}


def equalities(condition: Any) -> list[tuple[str, str]]:
    """(field, text) pairs a bound WHERE condition implies, for the source to use an index.

    A row can only match ``Field = 'text'`` (alone or as one operand of the top-level AND) if
    its own field compares equal to the text, i.e. equals it case-insensitively (see
    ``compare``); ``Id``/reference literals are already in their 18-character form.
    """
    items = condition.items if isinstance(condition, BoolOp) and condition.op == "and" else (condition,)
    found = []
    for item in items:
        if not isinstance(item, tuple):
            continue
        resolved, op, expected = item
        if (
            op == "="
            and resolved.relationship is None
            and isinstance(expected, str)
            and resolved.field.type not in NOT_TEXT_COMPARED
        ):
            found.append((resolved.field.name, expected))
    return found


def sort_key(f: Field, value: Any) -> Any:
    if isinstance(value, str):
        if f.type == "datetime":
            return parse_datetime(value) or value
        return value.lower()
    return value


def _comparable(f: Field, value: Any) -> Any:
    """Stored value in a form comparable with literals of the query."""
    if value is None:
        return None
    if f.type == "datetime":
        return parse_datetime(value)
    if f.type == "date":
        return parse_date(value)
    if f.type in ("int", "double", "currency", "percent"):
        return float(value)
    if isinstance(value, str):
        return value.lower()
    return value


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, datetime):
        return value
    return value


def compare(f: Field, stored: Any, op: str, expected: Any) -> bool:
    """One comparison with Salesforce semantics (case-insensitive text, null handling)."""
    if op == "like":
        return stored is not None and bool(expected.match(str(stored)))
    left = _comparable(f, stored)
    if op in ("in", "notin"):
        hit = any(left == _literal(v) for v in expected)
        return hit if op == "in" else not hit and left is not None
    right = _literal(expected)
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    except TypeError:
        return False
