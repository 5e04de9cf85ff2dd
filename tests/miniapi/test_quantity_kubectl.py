"""resource.Quantity against the real thing: kubectl's own Go apimachinery.

`kubectl set resources --local -f pod.json -o json` decodes every quantity in the
file with ParseQuantity and writes it back with String(), without a server. One
call checks a few hundred canonical strings; a failed decode shows upstream's
parse error text.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from miniapi.resource import parse_quantity

pytestmark = pytest.mark.tool("kubectl")

EDGE_CASES = [
    "0", "0.5", "1024Mi", "1e3", "1E3", "1.5G", "+1", "007", "01Ki", "+1Ki", "100m", "1000",
    "0.000000000001Ki", ".001Ki", "3.001n", "1.1E-9", "0.00000012345", "9Ei", "8Ei", "16Ei",
    "9223372036854775807Ki", "12E", "1000E", "5000E", "1e21", "100.035Ki", "0.5Mi",
    "0.025Ti", "9.5000000001Gi", "-9.5000000001Gi", "1.", "1.G", ".", "-.", "-", "+",
    "1e03", "1e+3", "1e-0", "1E2147483647", "1e4294967297", "1e9223372036854775807",
    "-.484785E-7466", "1.5Gi", "1Ei", "-0", "000", "1.53E12", "7.123456M", "0.0005k",
]  # fmt: skip
SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


def random_quantities(rng: random.Random, n: int) -> list[str]:
    """Well-formed strings from the grammar, exponents kept where upstream stays fast."""
    out = []
    for _ in range(n):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.5:
            cut = rng.randint(0, len(digits))
            digits = digits[:cut] + "." + digits[cut:]
        suffix = rng.choice(SUFFIXES)
        if rng.random() < 0.25:
            suffix = rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 30))
        out.append(rng.choice(["", "", "-", "+"]) + digits + suffix)
    return out


def pod_with_limits(limits: dict[str, str]) -> dict:
    container = {"name": "c", "image": "busybox", "resources": {"limits": limits}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [container]},
    }


def kubectl_set_resources(path: Path) -> subprocess.Popen[str]:
    args = ["kubectl", "set", "resources", "--local", "-f", str(path), "--requests=cpu=1"]
    return subprocess.Popen(
        [*args, "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_canonical_strings_match_kubectl(tmp_path: Path) -> None:
    texts = list(dict.fromkeys(EDGE_CASES + random_quantities(random.Random(20261129), 250)))
    limits = {f"example.com/q{i}": t for i, t in enumerate(texts)}
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(pod_with_limits(limits)))
    proc = kubectl_set_resources(path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    got = json.loads(out)["spec"]["containers"][0]["resources"]["limits"]
    mismatches = {
        t: (str(parse_quantity(t)), got[k])
        for k, t in limits.items()
        if str(parse_quantity(t)) != got[k]
    }
    assert not mismatches


BAD = ["1.1.M", "aoeu", "1+1.0M", "0.1mi", ".5i", "1Ki3", "1e9223372036854775808", ".e-20"]


def test_parse_errors_match_kubectl(tmp_path: Path) -> None:
    runs = []
    for i, text in enumerate(BAD):  # one kubectl per string, all at once
        path = tmp_path / f"bad{i}.json"
        path.write_text(json.dumps(pod_with_limits({"example.com/a": text})))
        runs.append((text, path, kubectl_set_resources(path)))
    for text, path, proc in runs:
        out, _ = proc.communicate(timeout=60)
        with pytest.raises(ValueError) as info:
            parse_quantity(text)
        assert out.strip() == f'error: unable to decode "{path}": {info.value}'
