"""String, header and query-parameter matchers.

Mirrors source/common/common/matchers.cc (StringMatcherImpl), source/common/http/
header_utility.cc (HeaderUtility::matchHeaders, HeaderMatcher) and
source/common/router/config_utility.cc (QueryParameterMatcher). Regexes are RE2 in Envoy
and match the whole value; Python's `re.fullmatch` stands in.
Omitted: `custom` string matchers, header `range_match` on non-integers.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from miniproxy.envoy.headers import HeaderMap


class StringMatcher:
    """envoy.type.matcher.v3.StringMatcher compiled."""

    def __init__(self, pb) -> None:
        self.kind = pb.WhichOneof("match_pattern")
        self.ignore_case = pb.ignore_case
        if self.kind == "safe_regex":
            self.value = re.compile(pb.safe_regex.regex)
        else:
            value = getattr(pb, self.kind) if self.kind else ""
            self.value = value.lower() if self.ignore_case else value

    def match(self, s: str) -> bool:
        if self.kind == "safe_regex":
            return self.value.fullmatch(s) is not None
        if self.ignore_case:
            s = s.lower()
        if self.kind == "exact":
            return s == self.value
        if self.kind == "prefix":
            return s.startswith(self.value)
        if self.kind == "suffix":
            return s.endswith(self.value)
        if self.kind == "contains":
            return self.value in s
        return False


class HeaderMatcher:
    """config.route.v3.HeaderMatcher: one header's condition, optionally inverted."""

    def __init__(self, pb) -> None:
        self.name = pb.name.lower()
        self.invert = pb.invert_match
        self.missing_as_empty = pb.treat_missing_header_as_empty
        self.kind = pb.WhichOneof("header_match_specifier")
        if self.kind == "string_match":
            self.string = StringMatcher(pb.string_match)
        elif self.kind == "safe_regex_match":
            self.regex = re.compile(pb.safe_regex_match.regex)
        elif self.kind == "range_match":
            self.range = (pb.range_match.start, pb.range_match.end)
        elif self.kind == "present_match":
            self.present = pb.present_match
        elif self.kind is not None:
            self.value = getattr(pb, self.kind)

    def match(self, headers: HeaderMap) -> bool:
        values = headers.get_all(self.name)
        if not values and self.missing_as_empty:
            values = [""]
        if self.kind == "present_match":
            return (bool(values) == self.present) != self.invert
        if not values:
            return False  # a missing header never matches, even inverted
        value = ",".join(values)
        return self._match_value(value) != self.invert

    def _match_value(self, v: str) -> bool:
        k = self.kind
        if k is None:
            return True  # no specifier: presence only
        if k == "exact_match":
            return v == self.value
        if k == "string_match":
            return self.string.match(v)
        if k == "safe_regex_match":
            return self.regex.fullmatch(v) is not None
        if k == "prefix_match":
            return v.startswith(self.value)
        if k == "suffix_match":
            return v.endswith(self.value)
        if k == "contains_match":
            return self.value in v
        if k == "range_match":
            try:
                n = int(v)
            except ValueError:
                return False
            return self.range[0] <= n < self.range[1]
        return False


def match_headers(headers: HeaderMap, matchers: list[HeaderMatcher]) -> bool:
    return all(m.match(headers) for m in matchers)


class QueryParameterMatcher:
    """config.route.v3.QueryParameterMatcher."""

    def __init__(self, pb) -> None:
        self.name = pb.name
        self.kind = pb.WhichOneof("query_parameter_match_specifier")
        if self.kind == "string_match":
            self.string = StringMatcher(pb.string_match)
        elif self.kind == "present_match":
            self.present = pb.present_match

    def match(self, params: dict[str, str]) -> bool:
        if self.name not in params:
            return self.kind == "present_match" and not self.present
        if self.kind == "string_match":
            return self.string.match(params[self.name])
        return True


def query_params(path: str) -> dict[str, str]:
    """Http::Utility::QueryParamsMulti, first value wins."""
    _, _, query = path.partition("?")
    out: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        out.setdefault(k, v)
    return out
