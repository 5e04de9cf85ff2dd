"""Field selectors, field label conversion, and the selectable fields of each kind.

Mirrors k8s.io/apimachinery/pkg/fields/selector.go (hasTerm, notHasTerm, andTerm,
ParseSelector with the `\\,` `\\=` `\\\\` escapes, Transform, EscapeValue/UnescapeValue),
fields/requirements.go, the field label conversion funcs of pkg/apis/core/v1/conversion.go
(plus runtime.DefaultMetaV1FieldSelectorConversion for every other kind), and the
`ToSelectableFields` / `GetAttrs` of pkg/registry/*/strategy.go for the values a
selector is matched against.  Selectors are immutable; parse errors and
unsupported field labels raise FieldSelectorError with upstream's message.
Omitted: custom resources' selectableFields, StatefulSet/Job/CSR conversions
(those kinds are not in miniapi), DeepCopySelector (values are frozen).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from miniapi.labels import Operator

__all__ = [
    "FieldSelectorError",
    "Requirement",
    "Selector",
    "TransformFunc",
    "and_selectors",
    "convert_field_label",
    "escape_value",
    "everything",
    "field_set",
    "one_term_equal_selector",
    "parse_and_transform_selector",
    "parse_selector",
    "selector_from_set",
    "supported_fields",
    "unescape_value",
]

TransformFunc = Callable[[str, str], tuple[str, str]]


class FieldSelectorError(ValueError):
    """A field selector that does not parse or names an unsupported field."""


class Requirement(NamedTuple):
    """One field/operator/value term (fields.Requirement)."""

    field: str
    operator: Operator
    value: str


# --- escaping ----------------------------------------------------------------------


def escape_value(s: str) -> str:
    """EscapeValue: backslash first, then the two delimiters."""
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(s: str) -> str:
    """UnescapeValue: undo escape_value; a bare `,`/`=` or an unknown escape is an error."""
    if not any(c in s for c in "\\,="):
        return s
    out, in_slash = [], False
    for c in s:
        if in_slash:
            if c not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v, that is as its code point number.
            raise FieldSelectorError(
                f"invalid field selector: unescaped character in value: {ord(c)}"
            )
        else:
            out.append(c)
    if in_slash:
        raise FieldSelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


# --- selectors ---------------------------------------------------------------------


class Selector(ABC):
    """A field selector: matches a flat field/value map (fields.Set)."""

    @abstractmethod
    def matches(self, fields: Mapping[str, str]) -> bool: ...

    @abstractmethod
    def transform(self, fn: TransformFunc) -> Selector:
        """A copy with fn applied to every (field, value); terms mapped to ("", "") drop."""

    @abstractmethod
    def requirements(self) -> list[Requirement]: ...

    def empty(self) -> bool:
        return False

    def requires_exact_match(self, field: str) -> tuple[str, bool]:
        return "", False


@dataclass(frozen=True)
class _HasTerm(Selector):
    """field=value (hasTerm)."""

    field: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        return fields.get(self.field, "") == self.value

    def requires_exact_match(self, field: str) -> tuple[str, bool]:
        return (self.value, True) if field == self.field else ("", False)

    def transform(self, fn: TransformFunc) -> Selector:
        field, value = fn(self.field, self.value)
        # a term transformed to nothing drops out of the selector
        return everything() if not field and not value else _HasTerm(field, value)

    def requirements(self) -> list[Requirement]:
        return [Requirement(self.field, Operator.EQUALS, self.value)]

    def __str__(self) -> str:
        return f"{self.field}={escape_value(self.value)}"


@dataclass(frozen=True)
class _NotHasTerm(Selector):
    """field!=value (notHasTerm); a missing field reads as ""."""

    field: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        return fields.get(self.field, "") != self.value

    def transform(self, fn: TransformFunc) -> Selector:
        field, value = fn(self.field, self.value)
        return everything() if not field and not value else _NotHasTerm(field, value)

    def requirements(self) -> list[Requirement]:
        return [Requirement(self.field, Operator.NOT_EQUALS, self.value)]

    def __str__(self) -> str:
        return f"{self.field}!={escape_value(self.value)}"


@dataclass(frozen=True)
class _AndTerm(Selector):
    """The AND of selectors (andTerm); empty when every part is."""

    terms: tuple[Selector, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self.terms)

    def empty(self) -> bool:
        return all(t.empty() for t in self.terms)

    def requires_exact_match(self, field: str) -> tuple[str, bool]:
        for t in self.terms:
            value, found = t.requires_exact_match(field)
            if found:
                return value, True
        return "", False

    def transform(self, fn: TransformFunc) -> Selector:
        nxt = (t.transform(fn) for t in self.terms)
        return _AndTerm(tuple(t for t in nxt if not t.empty()))

    def requirements(self) -> list[Requirement]:
        return [r for t in self.terms for r in t.requirements()]

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def everything() -> Selector:
    """Everything: the empty AND, which matches every object."""
    return _AndTerm()


def one_term_equal_selector(field: str, value: str) -> Selector:
    """OneTermEqualSelector: field=value."""
    return _HasTerm(field, value)


def and_selectors(*selectors: Selector) -> Selector:
    """AndSelectors: all of them."""
    return _AndTerm(tuple(selectors))


def selector_from_set(ls: Mapping[str, str] | None) -> Selector:
    """SelectorFromSet: field=value for every pair (sorted here, random order upstream)."""
    if ls is None:
        return everything()
    items = [_HasTerm(k, v) for k, v in sorted(ls.items())]
    return items[0] if len(items) == 1 else _AndTerm(tuple(items))


def _split_terms(selector: str) -> list[str]:
    """splitTerms: split on commas that are not escaped (escapes stay in the term)."""
    if not selector:
        return []
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(selector):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """splitTerm: the first operator wins; "!=" and "==" are tried before "="."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse_and_transform_selector(selector: str, fn: TransformFunc) -> Selector:
    """ParseAndTransformSelector: parse, then run every term through fn."""
    items: list[Selector] = []
    for part in sorted(_split_terms(selector)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise FieldSelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")
        lhs, op, rhs = split
        value = unescape_value(rhs)
        items.append(_NotHasTerm(lhs, value) if op == "!=" else _HasTerm(lhs, value))
    if len(items) == 1:
        return items[0].transform(fn)
    return _AndTerm(tuple(items)).transform(fn)


def parse_selector(selector: str) -> Selector:
    """ParseSelector: `a=b,c!=d,e==f`, values escaped with EscapeValue."""
    return parse_and_transform_selector(selector, lambda field, value: (field, value))


# --- field label conversion (pkg/apis/core/v1/conversion.go) -------------------------

_META = frozenset({"metadata.name", "metadata.namespace"})
_LABELS: dict[tuple[str, str, str], frozenset[str]] = {
    ("", "v1", "Pod"): _META
    | {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.podIPs",
        "status.nominatedNodeName",
    },
    ("", "v1", "Node"): frozenset({"metadata.name", "spec.unschedulable"}),
    ("", "v1", "ReplicationController"): _META | {"status.replicas"},
    ("", "v1", "Event"): _META
    | {f"involvedObject.{f}" for f in ("kind", "namespace", "name", "uid", "apiVersion")}
    | {"involvedObject.resourceVersion", "involvedObject.fieldPath"}
    | {"reason", "reportingComponent", "source", "type"},
    ("", "v1", "Namespace"): frozenset({"metadata.name", "status.phase"}),
    ("", "v1", "Secret"): _META | {"type"},
    ("", "v1", "Service"): _META | {"spec.clusterIP", "spec.type"},
    ("apps", "v1", "ReplicaSet"): _META | {"status.replicas"},
}
# Old v1 clients still send spec.host; it is renamed, not rejected.
_RENAMED = {("", "v1", "Pod"): {"spec.host": "spec.nodeName"}}


def supported_fields(group: str, version: str, kind: str) -> frozenset[str]:
    """The field labels a selector on this kind may use."""
    return _LABELS.get((group, version, kind), _META)


def convert_field_label(
    group: str, version: str, kind: str, label: str, value: str
) -> tuple[str, str]:
    """Scheme.ConvertFieldLabel: the (label, value) to match, or FieldSelectorError."""
    gvk = (group, version, kind)
    if label in _RENAMED.get(gvk, {}):
        return _RENAMED[gvk][label], value
    if gvk not in _LABELS:
        if label in _META:
            return label, value
        raise FieldSelectorError(
            f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    if label not in _LABELS[gvk]:
        raise FieldSelectorError(f"field label not supported: {label}")
    return label, value


# --- the values selectors match (ToSelectableFields / GetAttrs) ----------------------


def _get(obj: Any, path: str) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _text(obj: Any, path: str) -> str:
    v = _get(obj, path)
    if isinstance(v, bool):
        return "true" if v else "false"  # strconv.FormatBool / fmt.Sprint
    return "" if v is None else str(v)


def _pod(pod: Any) -> dict[str, str]:
    ips = _get(pod, "status.pod_ips") or []
    return {
        "spec.nodeName": _text(pod, "spec.node_name"),
        "spec.restartPolicy": _text(pod, "spec.restart_policy"),
        "spec.schedulerName": _text(pod, "spec.scheduler_name"),
        "spec.serviceAccountName": _text(pod, "spec.service_account_name"),
        "spec.hostNetwork": _text(pod, "spec.host_network") or "false",
        "status.phase": _text(pod, "status.phase"),
        # the first of status.podIPs, like upstream (status.podIPs has no value of its own)
        "status.podIP": _text(ips[0], "ip") if ips else "",
        "status.nominatedNodeName": _text(pod, "status.nominated_node_name"),
    }


def _event(ev: Any) -> dict[str, str]:
    ref = {f"involvedObject.{f}": _text(ev, f"involved_object.{p}") for f, p in _REF_FIELDS}
    return ref | {
        "reason": _text(ev, "reason"),
        "reportingComponent": _text(ev, "reporting_component"),
        "source": _text(ev, "source.component") or _text(ev, "reporting_component"),
        "type": _text(ev, "type"),
    }


_REF_FIELDS = (
    ("kind", "kind"),
    ("namespace", "namespace"),
    ("name", "name"),
    ("uid", "uid"),
    ("apiVersion", "api_version"),
    ("resourceVersion", "resource_version"),
    ("fieldPath", "field_path"),
)

# kind -> (namespaced, kind-specific fields)
_FIELD_SETS: dict[str, tuple[bool, Callable[[Any], dict[str, str]]]] = {
    "Pod": (True, _pod),
    "Node": (False, lambda n: {"spec.unschedulable": _text(n, "spec.unschedulable") or "false"}),
    "Namespace": (False, lambda ns: {"status.phase": _text(ns, "status.phase"), "name": _text(ns, "metadata.name")}),
    "Secret": (True, lambda s: {"type": _text(s, "type")}),
    "Event": (True, _event),
    "Service": (True, lambda s: {"spec.clusterIP": _text(s, "spec.cluster_ip"), "spec.type": _text(s, "spec.type")}),
    "ReplicaSet": (True, lambda rs: {"status.replicas": _text(rs, "status.replicas") or "0"}),
    "ReplicationController": (True, lambda rc: {"status.replicas": _text(rc, "status.replicas") or "0"}),
}  # fmt: skip


def field_set(kind: str, obj: Any, namespaced: bool = True) -> dict[str, str]:
    """The fields.Set a selector on `kind` is matched against, read from a typed object.

    Kinds without their own table get metadata.name, plus metadata.namespace when
    `namespaced` (DefaultNamespaceScopedAttr / DefaultClusterScopedAttr).
    """
    has_namespace, specific = _FIELD_SETS.get(kind, (namespaced, lambda _: {}))
    out = {"metadata.name": _text(obj, "metadata.name")}
    if has_namespace:
        out["metadata.namespace"] = _text(obj, "metadata.namespace")
    return out | specific(obj)
