"""Hypothesis strategies for names, labels, times, quantities and metadata.

Not an upstream mirror: these draw only what upstream's validation accepts
(k8s.io/apimachinery/pkg/util/validation: DNS-1123 labels and subdomains,
qualified names, label values), metav1.Time at second precision and
resource.Quantity in its usual spellings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from miniapi.meta import v1 as metav1
from miniapi.resource import Quantity

__all__ = [
    "dns1035_labels",
    "dns_labels",
    "dns_subdomains",
    "label_keys",
    "label_maps",
    "label_selectors",
    "label_values",
    "micro_times",
    "object_meta",
    "port_names",
    "quantities",
    "times",
]

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@st.composite
def dns_labels(draw: st.DrawFn, max_size: int = 20) -> str:
    """A DNS-1123 label: lower-case alphanumerics and '-', alphanumeric at both ends."""
    first = draw(st.sampled_from(_ALNUM))
    if max_size == 1 or draw(st.booleans()):
        return first
    middle = draw(st.text(_ALNUM + "-", max_size=max_size - 2))
    return first + middle + draw(st.sampled_from(_ALNUM))


def dns1035_labels() -> st.SearchStrategy[str]:
    """A DNS-1035 label (service names): like DNS-1123 but starting with a letter."""
    return st.builds(
        lambda a, b: (a + b)[:63],
        st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
        dns_labels(18) | st.just(""),
    )


def dns_subdomains() -> st.SearchStrategy[str]:
    """A DNS-1123 subdomain of one to three labels."""
    return st.lists(dns_labels(12), min_size=1, max_size=3).map(".".join)


_KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@st.composite
def label_values(draw: st.DrawFn) -> str:
    """A label value: empty, or alphanumerics with '-', '_', '.' inside."""
    if draw(st.booleans()):
        return ""
    first = draw(st.sampled_from(_KEY_CHARS))
    middle = draw(st.text(_KEY_CHARS + "-_.", max_size=10))
    return first + middle + draw(st.sampled_from(_KEY_CHARS)) if middle else first


@st.composite
def label_keys(draw: st.DrawFn) -> str:
    """A qualified name, optionally prefixed by a DNS subdomain and '/'."""
    name = draw(label_values().filter(bool))
    if draw(st.booleans()):
        return f"{draw(dns_subdomains())}/{name}"
    return name


def label_maps(max_size: int = 4) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(label_keys(), label_values(), max_size=max_size)


def times() -> st.SearchStrategy[datetime]:
    """UTC instants at second precision, as metav1.Time keeps them."""
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda t: t.replace(microsecond=0, tzinfo=UTC)
    )


def micro_times() -> st.SearchStrategy[metav1.MicroTime]:
    """UTC instants at microsecond precision, as metav1.MicroTime keeps them."""
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda t: metav1.MicroTime.from_datetime(t.replace(tzinfo=UTC))
    )


def quantities() -> st.SearchStrategy[Quantity]:
    """CPU-like and memory-like quantities in their usual spellings."""
    n = st.integers(min_value=0, max_value=100_000)
    suffix = st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi"])
    return st.builds(lambda v, s: Quantity.parse(f"{v}{s}"), n, suffix)


@st.composite
def object_meta(
    draw: st.DrawFn, namespaced: bool = True, names: st.SearchStrategy[str] | None = None
) -> metav1.ObjectMeta:
    return metav1.ObjectMeta(
        name=draw(names if names is not None else dns_labels()),
        namespace=draw(dns_labels()) if namespaced else "",
        uid=draw(st.uuids().map(str) | st.just("")),
        resource_version=draw(st.integers(0, 10**9).map(str) | st.just("")),
        generation=draw(st.none() | st.integers(0, 2**31)),
        creation_timestamp=draw(st.none() | times()),
        labels=draw(label_maps()),
        annotations=draw(st.dictionaries(label_keys(), st.text(max_size=20), max_size=2)),
        finalizers=draw(st.lists(label_keys(), max_size=2)),
    )


def label_selectors() -> st.SearchStrategy[metav1.LabelSelector]:
    req = st.builds(
        metav1.LabelSelectorRequirement,
        key=label_keys(),
        operator=st.sampled_from(["In", "NotIn"]),
        values=st.lists(label_values(), min_size=1, max_size=3),
    )
    return st.builds(
        metav1.LabelSelector,
        match_labels=label_maps(2),
        match_expressions=st.lists(req, max_size=2),
    )


def port_names() -> st.SearchStrategy[str]:
    """An IANA service name: up to 15 of [a-z0-9-], at least one letter, no '--'."""
    return st.from_regex(r"[a-z]([a-z0-9]|-(?=[a-z0-9])){0,13}[a-z0-9]?", fullmatch=True).filter(
        lambda s: len(s) <= 15 and "--" not in s and not s.endswith("-")
    )
