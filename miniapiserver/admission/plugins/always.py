"""AlwaysAdmit and AlwaysDeny: the two trivial plugins, for tests and demonstrations.

Mirrors kubernetes/plugin/pkg/admission/admit/admission.go (admits everything) and
deny/admission.go (refuses every write with "admission control is denying all
modifications"). Both are off unless named in --enable-admission-plugins.
"""

from __future__ import annotations

from miniapiserver.admission.attributes import (
    CONNECT,
    CREATE,
    DELETE,
    UPDATE,
    Attributes,
    new_forbidden,
)
from miniapiserver.admission.chain import Plugin

ALL_OPERATIONS = frozenset({CREATE, UPDATE, DELETE, CONNECT})


async def _admit_all(a: Attributes) -> None:
    return None


async def _deny_all(a: Attributes) -> None:
    raise new_forbidden(a, "admission control is denying all modifications")


def always_admit() -> Plugin:
    return Plugin("AlwaysAdmit", ALL_OPERATIONS, admit=_admit_all, validate=_admit_all)


def always_deny() -> Plugin:
    return Plugin("AlwaysDeny", ALL_OPERATIONS, admit=_deny_all, validate=_deny_all)
