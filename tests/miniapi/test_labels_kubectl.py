"""Label selector parsing against kubectl's own Go apimachinery.

`kubectl set selector --local -f svc.json SELECTOR` runs labels.ParseToRequirements
(through metav1.ParseToLabelSelector) without a server: a parse error comes back
as `couldn't parse the selector string "...": <upstream's text>`, equality terms
come back as the Service's selector map, and set-based terms are listed in
`match expression [...] not supported on this object`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from miniapi import labels
from miniapi.labels import Operator

pytestmark = pytest.mark.tool("kubectl")

SELECTORS = [
    # accepted
    "a=b,c==d",
    "x=",
    "x in (b,a),y notin (c),z,!w",
    "a in (x,y,notin, z,in)",
    "x notin (, a),app=web",
    "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
    "x>1",
    "app=web,n<5",
    # rejected by the lexer/parser
    "x in (a",
    "x in (a,",
    "x,,y",
    ",x",
    "!x=a",
    "x==a==b",
    "a (",
    "x nott in (y)",
    "a in (xyz abc)",
    "!",
    "(",
    # rejected by NewRequirement / key validation
    "x<a",
    "x=a@b",
    "-x",
    "/x",
    "x=" + "a" * 64,
    "k" * 64,
]

_LABEL_SELECTOR_OP = {"in": "In", "notin": "NotIn", "exists": "Exists", "!": "DoesNotExist"}


def expected(selector: str) -> tuple[str, dict[str, str] | None]:
    """What kubectl prints (an error line) or the selector map it sets, from our parse."""
    try:
        reqs = labels.parse_to_requirements(selector)
    except labels.SelectorError as err:
        return f'error: couldn\'t parse the selector string "{selector}": {err}', None
    match_labels, exprs = {}, []
    for r in reqs:
        if r.operator in (Operator.EQUALS, Operator.DOUBLE_EQUALS):
            match_labels[r.key] = r.values[0]
        elif r.operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
            return f'error: "{r.operator.value}" isn\'t supported in label selectors', None
        else:
            values = " ".join(sorted(set(r.values)))
            exprs.append(f"{{{r.key} {_LABEL_SELECTOR_OP[r.operator]} [{values}]}}")
    if exprs:
        return f"error: match expression [{' '.join(exprs)}] not supported on this object", None
    return "", match_labels


def test_selectors_parse_like_kubectl(tmp_path: Path) -> None:
    svc = tmp_path / "svc.json"
    spec = {"ports": [{"port": 80}]}
    svc.write_text(
        json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec})
    )
    runs = [
        (
            sel,
            subprocess.Popen(
                ["kubectl", "set", "selector", "--local", "-f", str(svc), "-o", "json", "--", sel],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for sel in SELECTORS
    ]
    for sel, proc in runs:
        out, err = proc.communicate(timeout=60)
        want_error, want_map = expected(sel)
        if want_map is None:
            assert err.strip() == want_error, sel
        else:
            assert json.loads(out)["spec"]["selector"] == want_map, sel
