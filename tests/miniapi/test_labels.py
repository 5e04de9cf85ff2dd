"""Label selectors, after apimachinery/pkg/labels/selector_test.go and labels_test.go.

Tables for the canonical string, matching and the exact parse error texts,
the LabelSelector conversion of meta/v1/helpers.go, and hypothesis properties:
parse(str(sel)) == sel, and matches() agrees with a direct reading of the operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import labels
from miniapi.labels import Operator, Requirement, Selector, SelectorError
from miniapi.meta.v1 import LabelSelector, LabelSelectorRequirement

LABEL_VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_HELP = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("", ""),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("a==b", "a==b"),
        ("\rx", "x"),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin ( )", "x notin ()"),
        ("x notin (, a)", "x notin (,a)"),
        ("x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"),
        ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
        ("e in (y,x),f notin (z),g,!h,a=b,c!=d", "a=b,c!=d,e in (x,y),f notin (z),g,!h"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
         "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"),
        ("notin=in", "notin=in"),
    ],
)  # fmt: skip
def test_parse_and_canonical_string(text: str, canonical: str) -> None:
    sel = labels.parse(text)
    assert str(sel) == canonical
    assert labels.parse(canonical) == sel


def test_parse_is_deterministic() -> None:
    assert str(labels.parse("x=a,a=x")) == str(labels.parse("a=x,x=a")) == "a=x,x=a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("x,,y", "found ',', expected: identifier after ','"),
        (",x,y", "found ',', expected: !, identifier, or 'end of string'"),
        ("(", "found '(', expected: !, identifier, or 'end of string'"),
        ("a in (xyz),", "found '', expected: identifier after ','"),
        ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"),
        (
            "x nott in (y)",
            "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
        ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"),
        ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
        ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier"),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("x=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),
        (
            "x<a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
        ),
        (
            "x=a||y=b",
            f'unable to parse requirement: values[0][x]: Invalid value: "a||y": {LABEL_VALUE_HELP}',
        ),
        (
            "x=" + "a" * 64,
            f'unable to parse requirement: values[0][x]: Invalid value: "{"a" * 64}": '
            "must be no more than 63 characters",
        ),
        (
            "-x",
            f'unable to parse requirement: <nil>: Invalid value: "-x": name part {NAME_PART_HELP}',
        ),
        (
            "/x",
            'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty',
        ),
    ],
)
def test_parse_errors_carry_upstream_text(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        labels.parse(text)
    assert str(info.value) == message


def test_field_path_option_prefixes_errors() -> None:
    with pytest.raises(SelectorError, match=r"^unable to parse requirement: spec\.selector: "):
        labels.parse("-x", path="spec.selector")
    with pytest.raises(SelectorError, match=r"^unable to parse requirement: spec\.values\[0\]: "):
        labels.parse("x>y", path="spec")


MATCH_CASES = [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    ("x>1", {"x": "v2"}, False),  # a label that is not an integer never compares
    ("x>1", {}, False),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
    ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}, True),
    ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}, False),
    ("x notin (),y", {"y": ""}, True),
    ("!x,y", {"y": ""}, True),
    ("x notin (),!y", {"y": ""}, False),
    ("x in ()", {"y": "baz"}, False),
    ("x in ()", {"x": ""}, True),
]


@pytest.mark.parametrize(("text", "label_set", "want"), MATCH_CASES)
def test_matches(text: str, label_set: dict[str, str], want: bool) -> None:
    assert labels.parse(text).matches(label_set) is want


def test_everything_nothing_and_sets() -> None:
    assert labels.everything().matches({"x": "y"}) and labels.everything().empty()
    assert not labels.nothing().matches({}) and not labels.nothing().empty()
    assert labels.nothing().requirements() == ((), False)
    assert labels.nothing().add(Requirement("a", Operator.EXISTS)) is labels.nothing()
    assert labels.matches_nothing(labels.nothing())
    assert not labels.matches_nothing(labels.parse("a,!a"))
    assert labels.selector_from_set(None).empty()
    assert labels.selector_from_set({}).empty()
    sel = labels.selector_from_set({"foo": "bar", "baz": "blah"})
    assert str(sel) == "baz=blah,foo=bar"
    assert sel.matches({"foo": "bar", "baz": "blah", "x": "y"})
    assert not sel.matches({"foo": "bar"})
    assert str(labels.selector_from_set({"a": "=x"})) == "a==x"  # not validated, like upstream
    with pytest.raises(SelectorError, match='values\\[0\\]\\[a\\]: Invalid value: "=x"'):
        labels.validated_selector_from_set({"a": "=x"})


def test_to_string_of_built_requirements() -> None:
    r = labels.new_requirement
    assert str(
        Selector([r("x", "in", ["def", "abc"]), r("y", "notin", ["jkl"]), r("z", "exists", [])])
    ) == ("x in (abc,def),y notin (jkl),z")
    assert str(
        Selector([r("x", "notin", ["abc", "def"]), r("y", "!=", ["jkl"]), r("z", "!", [])])
    ) == ("x notin (abc,def),y!=jkl,!z")
    assert str(
        Selector([r("z", "notin", [""]), r("y", "in", ["jkl", "mno"]), r("x", "notin", ["abc"])])
    ) == ("x notin (abc),y in (jkl,mno),z notin ()")
    assert str(
        Selector(
            [r("x", "=", ["abc"]), r("y", "==", ["jkl"]), r("z", "!=", ["a"]), r("z", "exists", [])]
        )
    ) == ("x=abc,y==jkl,z!=a,z")
    assert (
        str(Selector([r("x", "gt", ["2"]), r("y", "lt", ["8"]), r("z", "exists", [])]))
        == "x>2,y<8,z"
    )
    added = Selector([r("key", "in", ["value"])]).add(r("key2", "=", ["value2"]))
    assert str(added) == "key in (value),key2=value2"
    assert added.requires_exact_match("key2") == ("value2", True)
    assert added.requires_exact_match("nope") == ("", False)
    assert labels.parse("a in (x,y)").requires_exact_match("a") == ("", False)
    assert labels.parse("a!=x").requires_exact_match("a") == ("", False)  # fmt: skip


@pytest.mark.parametrize(
    ("key", "op", "values", "ok"),
    [
        ("x", "in", None, False),
        ("x", "notin", [], False),
        ("x", "in", ["foo"], True),
        ("x", "exists", None, True),
        ("x", "!", None, True),
        ("1foo", "in", ["bar"], True),
        ("1234", "in", ["bar"], True),
        ("y", "gt", ["1"], True),
        ("z", "lt", ["6"], True),
        ("foo", "gt", ["bar"], False),
        ("x", "gt", ["9223372036854775808"], False),  # past int64
        ("x", "=", ["a", "b"], False),
        ("x", "~", ["a"], False),
        ("a" * 254, "exists", None, False),
    ],
)
def test_new_requirement(key: str, op: str, values: list[str] | None, ok: bool) -> None:
    if ok:
        assert labels.new_requirement(key, op, values).key == key
    else:
        with pytest.raises(SelectorError):
            labels.new_requirement(key, op, values)


def test_new_requirement_messages() -> None:
    with pytest.raises(SelectorError) as info:
        labels.new_requirement("x", "~", ["a"])
    assert str(info.value) == (
        'operator: Unsupported value: "~": supported values: "in", "notin", "=", "==", "!=", '
        '"gt", "lt", "exists", "!"'
    )
    with pytest.raises(SelectorError) as info:
        labels.new_requirement("a b", "gt", ["x", "y"])
    assert str(info.value) == (
        f'[key: Invalid value: "a b": name part {NAME_PART_HELP}, '
        "values: Invalid value: []string{\"x\", \"y\"}: for 'Gt', 'Lt' operators, exactly one "
        "value is required, values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the "
        "value must be an integer, values[1]: Invalid value: \"y\": for 'Gt', 'Lt' operators, "
        "the value must be an integer]"
    )


def ls(match_labels=None, *exprs: tuple[str, str, list[str]]) -> LabelSelector:
    return LabelSelector(
        match_labels=match_labels or {},
        match_expressions=[
            LabelSelectorRequirement(key=k, operator=o, values=v) for k, o, v in exprs
        ],
    )


def test_label_selector_as_selector() -> None:
    assert labels.label_selector_as_selector(None) is labels.nothing()
    assert labels.label_selector_as_selector(ls()).empty()
    sel = labels.label_selector_as_selector(
        ls(
            {"app": "web"},
            ("tier", "In", ["b", "a"]),
            ("x", "Exists", []),
            ("y", "DoesNotExist", []),
        )
    )
    assert str(sel) == "app=web,tier in (a,b),x,!y"
    assert sel.matches({"app": "web", "tier": "a", "x": ""})
    assert not sel.matches({"app": "web", "tier": "a", "x": "", "y": "1"})
    assert str(labels.label_selector_as_selector(ls(None, ("e", "NotIn", ["q"])))) == "e notin (q)"
    assert labels.format_label_selector(ls()) == "<none>"
    assert labels.format_label_selector(ls(None, ("e", "Bogus", []))) == "<error>"
    assert labels.format_label_selector(ls({"a": "b"})) == "a=b"


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (ls(None, ("e", "Gt", ["1"])), '"Gt" is not a valid pod selector operator'),
        (
            ls(None, ("e", "In", [])),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            ls(None, ("e", "Exists", ["a"])),
            'values: Invalid value: []string{"a"}: values set must be empty for exists and does not exist',
        ),
        (ls({"a": "b c"}), f'values[0][a]: Invalid value: "b c": {LABEL_VALUE_HELP}'),
    ],
)
def test_label_selector_errors(selector: LabelSelector, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        labels.label_selector_as_selector(selector)
    assert str(info.value) == message


@dataclass
class DuckRequirement:
    key: str
    operator: str
    values: list[str] = field(default_factory=list)


@dataclass
class DuckSelector:
    match_labels: dict[str, str]
    match_expressions: list[DuckRequirement]


def test_label_selector_is_duck_typed() -> None:
    duck = DuckSelector({"a": "b"}, [DuckRequirement("c", "NotIn", ["d"])])
    assert str(labels.label_selector_as_selector(duck)) == "a=b,c notin (d)"


def test_label_selector_as_map() -> None:
    assert labels.label_selector_as_map(None) is None
    assert labels.label_selector_as_map(ls({"a": "b"}, ("c", "In", ["d"]))) == {"a": "b", "c": "d"}
    with pytest.raises(SelectorError, match='^operator "In" without a single value cannot be'):
        labels.label_selector_as_map(ls(None, ("c", "In", ["d", "e"])))
    with pytest.raises(SelectorError, match='^operator "Exists" cannot be converted'):
        labels.label_selector_as_map(ls(None, ("c", "Exists", [])))
    with pytest.raises(SelectorError, match='^"Gt" is not a valid selector operator$'):
        labels.label_selector_as_map(ls(None, ("c", "Gt", ["1"])))


def test_label_set_helpers() -> None:
    assert labels.format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert labels.format_labels({}) == "<none>"
    assert labels.conflicts({"a": "1"}, {"a": "2"})
    assert not labels.conflicts({"a": "1"}, {"b": "2"})
    assert labels.merge({"a": "1", "b": "1"}, {"b": "2"}) == {"a": "1", "b": "2"}
    assert labels.equals({"a": "1"}, {"a": "1"}) and not labels.equals({"a": "1"}, {"a": "2"})


def test_lexer_tokens() -> None:
    kinds = [t for t, _ in labels.lex("== != (), = notin")]
    assert [k.name for k in kinds] == [
        "DOUBLE_EQUALS", "NOT_EQUALS", "OPEN_PAR", "CLOSED_PAR", "COMMA", "EQUALS", "NOT_IN",
        "END_OF_STRING",
    ]  # fmt: skip
    assert labels.lex("||") == [(labels.Token.IDENTIFIER, "||"), (labels.Token.END_OF_STRING, "")]
    assert labels.lex("key>2")[1] == (labels.Token.GREATER_THAN, ">")


# --- properties ------------------------------------------------------------------

ENDS = st.sampled_from("abz09")
NAMES = st.one_of(
    st.sampled_from(["a", "in", "notin", "app", "x.y"]),
    st.builds(lambda a, mid, z: a + mid + z, ENDS, st.text("ab9._-", max_size=5), ENDS),
)
KEYS = st.one_of(NAMES, st.builds(lambda p, n: f"{p}.io/{n}", st.sampled_from(["a", "b.c"]), NAMES))
VALUES = st.one_of(st.just(""), NAMES)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    """Requirements as the parser builds them: values sorted and unique."""
    key = draw(KEYS)
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        return labels.new_requirement(key, op, [])
    if op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        # a Gt/Lt value is also a label value, so it cannot carry a minus sign
        return labels.new_requirement(key, op, [str(draw(st.integers(0, 10**6)))])
    if op in (Operator.IN, Operator.NOT_IN):
        return labels.new_requirement(
            key, op, sorted(draw(st.sets(VALUES, min_size=1, max_size=4)))
        )
    return labels.new_requirement(key, op, [draw(VALUES)])


def selectors() -> st.SearchStrategy[Selector]:
    return st.lists(requirements(), max_size=5).map(Selector)


def label_sets() -> st.SearchStrategy[dict[str, str]]:
    ints = st.integers(-(10**6), 10**6).map(str)
    return st.dictionaries(KEYS, st.one_of(VALUES, ints), max_size=6)


def direct(req: Requirement, label_set: dict[str, str]) -> bool:
    """The operators' meaning, spelled out without the library."""
    have = label_set.get(req.key)
    if req.operator in ("=", "==", "in"):
        return have is not None and have in req.values
    if req.operator in ("!=", "notin"):
        return have is None or have not in req.values
    if req.operator == "exists":
        return have is not None
    if req.operator == "!":
        return have is None
    if have is None or not have.lstrip("-").isdigit():
        return False
    return (
        int(have) > int(req.values[0]) if req.operator == "gt" else int(have) < int(req.values[0])
    )


@settings(deadline=None, max_examples=60)
@given(selectors())
def test_parse_of_string_round_trips(sel: Selector) -> None:
    text = str(sel)
    assert labels.parse(text) == sel
    assert str(labels.parse(text)) == text


@settings(deadline=None, max_examples=60)
@given(selectors(), label_sets())
def test_matches_agrees_with_direct_evaluation(sel: Selector, label_set: dict[str, str]) -> None:
    reqs, _ = sel.requirements()
    assert sel.matches(label_set) == all(direct(r, label_set) for r in reqs)


@settings(deadline=None, max_examples=60)
@given(label_sets(), label_sets())
def test_selector_from_set_matches_supersets_only(
    wanted: dict[str, str], have: dict[str, str]
) -> None:
    sel = labels.selector_from_set(wanted)
    assert sel.matches({**have, **wanted})
    assert sel.matches(have) == all(have.get(k) == v for k, v in wanted.items())
