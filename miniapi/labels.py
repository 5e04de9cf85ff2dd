"""Label selectors: requirements, the selector grammar, and LabelSelector conversion.

Mirrors k8s.io/apimachinery/pkg/labels/selector.go (Requirement, NewRequirement,
internalSelector, Lexer, Parser, Parse, SelectorFromSet), labels.go (Set helpers),
pkg/selection (Operator), pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector,
LabelSelectorAsMap, FormatLabelSelector). Keys and values are checked with
miniapi.validation.names (IsQualifiedName, IsValidLabelValue).
Parse errors carry upstream's texts, including field-error forms such as
`unable to parse requirement: <nil>: Invalid value: "a/b/c": ...`.
Selectors are immutable; requirements are kept sorted by key (a stable sort,
where Go's sort.Sort is unstable beyond 12 requirements).
Omitted: ValidatedSetSelector, ConvertSelectorToLabelsMap, ParseToLabelSelector,
AreLabelsInWhiteList, DeepCopy (values are frozen), klog tracing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from miniapi.validation.names import is_qualified_name, is_valid_label_value

__all__ = [
    "Operator",
    "Requirement",
    "Selector",
    "SelectorError",
    "conflicts",
    "equals",
    "everything",
    "format_label_selector",
    "format_labels",
    "label_selector_as_map",
    "label_selector_as_selector",
    "matches_nothing",
    "merge",
    "new_requirement",
    "nothing",
    "parse",
    "parse_to_requirements",
    "selector_from_set",
    "selector_from_validated_set",
    "validated_selector_from_set",
]


class Operator(StrEnum):
    """selection.Operator: the string values upstream uses."""

    DOES_NOT_EXIST = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    IN = "in"
    NOT_EQUALS = "!="
    NOT_IN = "notin"
    EXISTS = "exists"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_BINARY = ("in", "notin", "=", "==", "!=", "gt", "lt")
_VALID_OPERATORS = (*_BINARY, "exists", "!")


class SelectorError(ValueError):
    """A selector that does not parse or validate; str() is upstream's message."""


# --- field errors, as util/validation/field prints them ---------------------------


def go_quote(s: str) -> str:
    """Go's %q; JSON's quoting agrees with it for the printable text selectors hold."""
    return json.dumps(s, ensure_ascii=False)


def _invalid(path: str | None, value: str | list[str] | None, detail: str) -> str:
    """field.Invalid(path, value, detail).Error(); a nil path prints as <nil>."""
    if isinstance(value, str):
        shown = go_quote(value)
    elif value is None:
        shown = "[]string(nil)"
    else:
        shown = "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    where = "<nil>" if path is None else path
    return f"{where}: Invalid value: {shown}: {detail}"


def _child(path: str | None, name: str) -> str:
    return name if path is None else f"{path}.{name}"


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or [a, b] without repeats."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _parse_int64(s: str) -> int | None:
    """strconv.ParseInt(s, 10, 64), None on error."""
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    v = int(s)
    return v if -(1 << 63) <= v < (1 << 63) else None


# --- Requirement and Selector -------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One key/operator/values condition; build it with new_requirement()."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def _has_value(self, value: str) -> bool:
        return value in self.values

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Requirement.Matches against a label set."""
        op = self.operator
        if op in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
            return self.key in labels and self._has_value(labels[self.key])
        if op in (Operator.NOT_IN, Operator.NOT_EQUALS):
            return self.key not in labels or not self._has_value(labels[self.key])
        if op == Operator.EXISTS:
            return self.key in labels
        if op == Operator.DOES_NOT_EXIST:
            return self.key not in labels
        if self.key not in labels or len(self.values) != 1:
            return False
        have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op == Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op == Operator.EXISTS:
            return self.key
        if op == Operator.DOES_NOT_EXIST:
            return "!" + self.key
        symbol = {"in": " in ", "notin": " notin ", "gt": ">", "lt": "<"}.get(op, op.value)
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (Operator.IN, Operator.NOT_IN):
            values = f"({values})"
        return self.key + symbol + values


def new_requirement(
    key: str, op: str, values: Iterable[str] | None, path: str | None = None
) -> Requirement:
    """NewRequirement: validate key, operator arity and values, or raise SelectorError."""
    vals = None if values is None else list(values)
    n = len(vals or ())
    errs = []
    if key_errs := is_qualified_name(key):
        errs.append(_invalid(_child(path, "key"), key, "; ".join(key_errs)))
    vpath = _child(path, "values")
    if op in ("in", "notin") and n == 0:
        errs.append(_invalid(vpath, vals, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in ("=", "==", "!=") and n != 1:
        errs.append(_invalid(vpath, vals, "exact-match compatibility requires one single value"))
    elif op in ("exists", "!") and n != 0:
        detail = "values set must be empty for exists and does not exist"
        errs.append(_invalid(vpath, vals, detail))
    elif op in ("gt", "lt"):
        if n != 1:
            detail = "for 'Gt', 'Lt' operators, exactly one value is required"
            errs.append(_invalid(vpath, vals, detail))
        for i, v in enumerate(vals or ()):
            if _parse_int64(v) is None:
                detail = "for 'Gt', 'Lt' operators, the value must be an integer"
                errs.append(_invalid(f"{vpath}[{i}]", v, detail))
    elif op not in _VALID_OPERATORS:
        supported = ", ".join(go_quote(o) for o in _VALID_OPERATORS)
        where = _child(path, "operator")
        errs.append(f"{where}: Unsupported value: {go_quote(op)}: supported values: {supported}")
    for i, v in enumerate(vals or ()):
        if value_errs := is_valid_label_value(v):
            errs.append(_invalid(f"{vpath}[{i}][{key}]", v, "; ".join(value_errs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, Operator(op), tuple(vals or ()))


class Selector:
    """An AND of requirements sorted by key (internalSelector); immutable."""

    __slots__ = ("_reqs",)

    def __init__(self, requirements: Iterable[Requirement] = ()) -> None:
        self._reqs = tuple(sorted(requirements, key=lambda r: r.key))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self._reqs)

    def empty(self) -> bool:
        """True when the selector does not restrict anything (Everything)."""
        return not self._reqs

    def add(self, *reqs: Requirement) -> Selector:
        return Selector(self._reqs + reqs)

    def requirements(self) -> tuple[tuple[Requirement, ...], bool]:
        return self._reqs, True

    def requires_exact_match(self, label: str) -> tuple[str, bool]:
        """The one value the first requirement on `label` demands, if any."""
        for r in self._reqs:
            if r.key == label:
                exact = r.operator in ("=", "==", "in") and len(r.values) == 1
                return (r.values[0], True) if exact else ("", False)
        return "", False

    def __str__(self) -> str:
        return ",".join(str(r) for r in self._reqs)

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._reqs == other._reqs  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._reqs)


class _NothingSelector(Selector):
    """nothingSelector: matches no label set, adds nothing, not selectable."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return False

    def empty(self) -> bool:
        return False

    def add(self, *reqs: Requirement) -> Selector:
        return self

    def requirements(self) -> tuple[tuple[Requirement, ...], bool]:
        return (), False

    def requires_exact_match(self, label: str) -> tuple[str, bool]:
        return "", False

    def __repr__(self) -> str:
        return "nothing()"


_EVERYTHING = Selector()
_NOTHING = _NothingSelector()


def everything() -> Selector:
    return _EVERYTHING


def nothing() -> Selector:
    return _NOTHING


def matches_nothing(selector: Selector) -> bool:
    """MatchesNothing: only the nothing() selector is known to select nothing."""
    return selector is _NOTHING


# --- lexer and parser ---------------------------------------------------------------


class Token(IntEnum):
    ERROR = 0
    END_OF_STRING = 1
    CLOSED_PAR = 2
    COMMA = 3
    DOES_NOT_EXIST = 4
    DOUBLE_EQUALS = 5
    EQUALS = 6
    GREATER_THAN = 7
    IDENTIFIER = 8
    IN = 9
    LESS_THAN = 10
    NOT_EQUALS = 11
    NOT_IN = 12
    OPEN_PAR = 13


_STRING_TO_TOKEN = {
    ")": Token.CLOSED_PAR,
    ",": Token.COMMA,
    "!": Token.DOES_NOT_EXIST,
    "==": Token.DOUBLE_EQUALS,
    "=": Token.EQUALS,
    ">": Token.GREATER_THAN,
    "in": Token.IN,
    "<": Token.LESS_THAN,
    "!=": Token.NOT_EQUALS,
    "notin": Token.NOT_IN,
    "(": Token.OPEN_PAR,
}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_OPERATOR_TOKENS = {
    Token.IN: "in",
    Token.EQUALS: "=",
    Token.DOUBLE_EQUALS: "==",
    Token.GREATER_THAN: "gt",
    Token.LESS_THAN: "lt",
    Token.NOT_IN: "notin",
    Token.NOT_EQUALS: "!=",
}


class _Lexer:
    """Lexer: reads byte-like characters; read() past the end (or at NUL) gives NUL."""

    def __init__(self, s: str) -> None:
        self.s, self.pos = s, 0

    def read(self) -> str:
        if self.pos < len(self.s):
            self.pos += 1
            return self.s[self.pos - 1]
        return "\0"

    def unread(self) -> None:
        self.pos -= 1

    def scan_id_or_keyword(self) -> tuple[Token, str]:
        buf = []
        while True:
            ch = self.read()
            if ch == "\0":
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self.unread()
                break
            buf.append(ch)
        lit = "".join(buf)
        return _STRING_TO_TOKEN.get(lit, Token.IDENTIFIER), lit

    def scan_special_symbol(self) -> tuple[Token, str]:
        """The longest operator made of special characters (so "!=" beats "!")."""
        buf, last = "", (Token.ERROR, "")
        while True:
            ch = self.read()
            if ch == "\0":
                break
            if ch not in _SPECIAL:
                self.unread()
                break
            buf += ch
            if buf in _STRING_TO_TOKEN:
                last = (_STRING_TO_TOKEN[buf], buf)
            elif last[0] != Token.ERROR:
                self.unread()
                break
        if last[0] == Token.ERROR:
            return Token.ERROR, f"error expected: keyword found '{buf}'"
        return last

    def lex(self) -> tuple[Token, str]:
        ch = self.read()
        while ch in _WHITESPACE:
            ch = self.read()
        if ch == "\0":
            return Token.END_OF_STRING, ""
        self.unread()
        if ch in _SPECIAL:
            return self.scan_special_symbol()
        return self.scan_id_or_keyword()


def lex(s: str) -> list[tuple[Token, str]]:
    """Every token of `s`, ending with END_OF_STRING (Parser.scan)."""
    lexer, items = _Lexer(s), []
    while True:
        item = lexer.lex()
        items.append(item)
        if item[0] == Token.END_OF_STRING:
            return items


_IN_VALUES = {Token.IN: Token.IDENTIFIER, Token.NOT_IN: Token.IDENTIFIER}


class _Parser:
    """Parser: recursive descent over the scanned tokens.

    In the value context "in" and "notin" are plain identifiers (`x in (in)`).
    """

    def __init__(self, s: str, path: str | None) -> None:
        self.items, self.position, self.path = lex(s), 0, path

    def lookahead(self, values: bool = True) -> tuple[Token, str]:
        tok, lit = self.items[self.position]
        return (_IN_VALUES.get(tok, tok) if values else tok), lit

    def consume(self, values: bool = True) -> tuple[Token, str]:
        self.position += 1
        tok, lit = self.items[self.position - 1]
        return (_IN_VALUES.get(tok, tok) if values else tok), lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead()
            if tok == Token.END_OF_STRING:
                return reqs
            if tok not in (Token.IDENTIFIER, Token.DOES_NOT_EXIST):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.parse_requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            tok, lit = self.consume()
            if tok == Token.END_OF_STRING:
                return reqs
            if tok != Token.COMMA:
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.lookahead()
            if tok not in (Token.IDENTIFIER, Token.DOES_NOT_EXIST):
                raise SelectorError(f"found '{lit}', expected: identifier after ','")

    def parse_requirement(self) -> Requirement:
        key, op = self.parse_key_and_infer_operator()
        if op in ("exists", "!"):
            return new_requirement(key, op, [], self.path)
        op = self.parse_operator()
        values = self.parse_values() if op in ("in", "notin") else self.parse_exact_value()
        return new_requirement(key, op, sorted(values), self.path)

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume()
        if tok == Token.DOES_NOT_EXIST:
            op = "!"
            tok, lit = self.consume()
        if tok != Token.IDENTIFIER:
            raise SelectorError(f"found '{lit}', expected: identifier")
        if errs := is_qualified_name(lit):
            raise SelectorError(_invalid(self.path, lit, "; ".join(errs)))
        if self.lookahead()[0] in (Token.END_OF_STRING, Token.COMMA) and op != "!":
            op = "exists"
        return lit, op

    def parse_operator(self) -> str:
        tok, lit = self.consume(values=False)
        if tok not in _OPERATOR_TOKENS:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY)}")
        return _OPERATOR_TOKENS[tok]

    def parse_values(self) -> set[str]:
        """ "(" values ")", where "()" and empty entries mean the empty string."""
        tok, lit = self.consume()
        if tok != Token.OPEN_PAR:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead()
        if tok == Token.CLOSED_PAR:
            self.consume()
            return {""}
        if tok not in (Token.IDENTIFIER, Token.COMMA):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self.parse_identifiers_list()
        if self.consume()[0] != Token.CLOSED_PAR:
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume()
            if tok == Token.IDENTIFIER:
                values.add(lit)
                tok2, lit2 = self.lookahead()
                if tok2 == Token.CLOSED_PAR:
                    return values
                if tok2 != Token.COMMA:
                    raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == Token.COMMA:
                # a leading, trailing or doubled comma stands for an empty value
                tok2 = self.lookahead()[0]
                if not values or tok2 in (Token.CLOSED_PAR, Token.COMMA):
                    values.add("")
                if tok2 == Token.CLOSED_PAR:
                    return values
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        if self.lookahead()[0] in (Token.END_OF_STRING, Token.COMMA):
            return {""}
        tok, lit = self.consume()
        if tok != Token.IDENTIFIER:
            raise SelectorError(f"found '{lit}', expected: identifier")
        return {lit}


def parse_to_requirements(selector: str, path: str | None = None) -> list[Requirement]:
    """ParseToRequirements: the parsed requirements sorted by key."""
    return sorted(_Parser(selector, path).parse(), key=lambda r: r.key)


def parse(selector: str, path: str | None = None) -> Selector:
    """Parse: `a=b,c!=d,e in (x,y),f notin (z),g,!h,n>1` into a Selector."""
    return Selector(_Parser(selector, path).parse())


# --- building selectors from sets and LabelSelector ------------------------------


def selector_from_validated_set(ls: Mapping[str, str] | None) -> Selector:
    """SelectorFromValidatedSet: key=value for each pair, no validation."""
    return Selector(Requirement(k, Operator.EQUALS, (v,)) for k, v in (ls or {}).items())


selector_from_set = selector_from_validated_set  # SelectorFromSet does not validate either


def validated_selector_from_set(ls: Mapping[str, str] | None) -> Selector:
    """ValidatedSelectorFromSet: like selector_from_set, but checks every pair."""
    return Selector(new_requirement(k, "=", [v]) for k, v in sorted((ls or {}).items()))


_LABEL_SELECTOR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def label_selector_as_selector(ps: Any) -> Selector:
    """LabelSelectorAsSelector: matchLabels and matchExpressions, ANDed.

    `ps` is a miniapi.meta.v1.LabelSelector or anything with `match_labels` and
    `match_expressions` (items with key, operator, values); None selects nothing.
    """
    if ps is None:
        return nothing()
    match_labels = ps.match_labels or {}
    exprs = ps.match_expressions or []
    if not match_labels and not exprs:
        return everything()
    reqs = [new_requirement(k, "=", [v]) for k, v in sorted(match_labels.items())]
    for expr in exprs:
        op = _LABEL_SELECTOR_OPS.get(expr.operator)
        if op is None:
            raise SelectorError(f"{go_quote(expr.operator)} is not a valid pod selector operator")
        reqs.append(new_requirement(expr.key, op, list(expr.values or []) or None))
    return Selector(reqs)


def label_selector_as_map(ps: Any) -> dict[str, str] | None:
    """LabelSelectorAsMap: only matchLabels and single-valued In convert."""
    if ps is None:
        return None
    out = dict(ps.match_labels or {})
    for expr in ps.match_expressions or []:
        op = go_quote(expr.operator)
        if expr.operator == "In":
            if len(expr.values or []) != 1:
                raise SelectorError(
                    f"operator {op} without a single value cannot be converted into "
                    "the old label selector format"
                )
            out[expr.key] = expr.values[0]
        elif expr.operator in ("NotIn", "Exists", "DoesNotExist"):
            raise SelectorError(
                f"operator {op} cannot be converted into the old label selector format"
            )
        else:
            raise SelectorError(f"{op} is not a valid selector operator")
    return out


def format_label_selector(ps: Any) -> str:
    """FormatLabelSelector: the selector string, <none> when empty, <error> when invalid."""
    try:
        text = str(label_selector_as_selector(ps))
    except SelectorError:
        return "<error>"
    return text or "<none>"


# --- labels.go: plain label sets --------------------------------------------------


def format_labels(labels: Mapping[str, str] | None) -> str:
    """FormatLabels: sorted k=v pairs joined by commas, or <none>."""
    return ",".join(sorted(f"{k}={v}" for k, v in (labels or {}).items())) or "<none>"


def conflicts(labels1: Mapping[str, str], labels2: Mapping[str, str]) -> bool:
    """Conflicts: some key is in both with different values."""
    return any(k in labels2 and labels2[k] != v for k, v in labels1.items())


def merge(labels1: Mapping[str, str], labels2: Mapping[str, str]) -> dict[str, str]:
    """Merge: the union; labels2 wins on shared keys."""
    return {**labels1, **labels2}


def equals(labels1: Mapping[str, str], labels2: Mapping[str, str]) -> bool:
    return dict(labels1) == dict(labels2)
