"""DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node for 300 s.

Mirrors kubernetes/plugin/pkg/admission/defaulttolerationseconds/admission.go: a pod
(not a subresource) without a NoExecute toleration for node.kubernetes.io/not-ready
gets {key: not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: N}, and
likewise for node.kubernetes.io/unreachable; a toleration with an empty key or an
empty effect already covers the taint. N comes from
--default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds
(300 each). The NodeLifecycle controller's taint eviction then waits N seconds.
"""

from __future__ import annotations

from typing import Any

from miniapi import errors
from miniapiserver.admission.attributes import CREATE, UPDATE, Attributes
from miniapiserver.admission.chain import Plugin

PLUGIN_NAME = "DefaultTolerationSeconds"
TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
NO_EXECUTE = "NoExecute"
DEFAULT_SECONDS = 300


def tolerates(tolerations: list[dict[str, Any]], key: str) -> bool:
    """Some toleration already matches a NoExecute taint with this key."""
    return any(
        t.get("key", "") in (key, "") and t.get("effect", "") in (NO_EXECUTE, "")
        for t in tolerations
    )


def add_default_tolerations(pod: dict[str, Any], not_ready: int, unreachable: int) -> None:
    """The plugin's mutation, on a pod dict (pure)."""
    spec = pod.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    added = []
    for key, seconds in ((TAINT_NODE_NOT_READY, not_ready), (TAINT_NODE_UNREACHABLE, unreachable)):
        if not tolerates(tolerations, key):
            added.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": NO_EXECUTE,
                    "tolerationSeconds": seconds,
                }
            )
    if added:
        spec["tolerations"] = tolerations + added


def new_plugin(
    not_ready_seconds: int = DEFAULT_SECONDS, unreachable_seconds: int = DEFAULT_SECONDS
) -> Plugin:
    async def admit(a: Attributes) -> None:
        if a.group_resource.group != "" or a.resource != "pods" or a.subresource:
            return
        if not isinstance(a.object, dict):
            raise errors.new_bad_request(f"expected *api.Pod but got {type(a.object).__name__}")
        add_default_tolerations(a.object, not_ready_seconds, unreachable_seconds)

    return Plugin(PLUGIN_NAME, frozenset({CREATE, UPDATE}), admit=admit)
