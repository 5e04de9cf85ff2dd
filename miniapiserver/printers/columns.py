"""The columns `kubectl get` shows for each kind, and how each cell is computed.

Mirrors kubernetes/pkg/printers/internalversion/printers.go (AddHandlers'
column definitions; printPod, printNode, printService, printEndpointSlice,
printDeployment, printReplicaSet, printNamespace, printEvent, printConfigMap,
printSecret, printLease, ...). Columns with priority 1 appear only with
`-o wide`. Kinds without a printer get the default Name / Created At.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
AgeFn = Callable[[str | None, datetime], str]
Column = tuple[str, str, str, str, int]  # name, type, format, description, priority
Printer = Callable[[Obj, datetime, AgeFn], list[Any]]

NAME: Column = ("Name", "string", "name", "Name must be unique within a namespace.", 0)
AGE: Column = ("Age", "string", "", "CreationTimestamp is when the object was created.", 0)


def _col(name: str, typ: str = "string", priority: int = 0, desc: str = "") -> Column:
    return (name, typ, "", desc, priority)


def _meta(o: Obj) -> dict[str, Any]:
    return o.get("metadata", {})


def _or_none(value: Any) -> str:
    return str(value) if value not in (None, "", []) else "<none>"


def _selector(sel: dict[str, Any] | None) -> str:
    """metav1.FormatLabelSelector for the wide Selector column."""
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for req in sel.get("matchExpressions") or []:
        op, values = req.get("operator", ""), ",".join(req.get("values") or [])
        if op == "In":
            parts.append(f"{req['key']} in ({values})")
        elif op == "NotIn":
            parts.append(f"{req['key']} notin ({values})")
        elif op == "Exists":
            parts.append(req["key"])
        else:
            parts.append(f"!{req['key']}")
    return ",".join(parts) or "<none>"


def _containers(template: dict[str, Any]) -> tuple[str, str]:
    cs = template.get("spec", {}).get("containers", [])
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def pod_status_reason(o: Obj) -> tuple[str, int, int, int]:
    """printPod's Status cell and the ready/total/restart counts."""
    spec, status = o.get("spec", {}), o.get("status", {})
    reason = status.get("reason") or status.get("phase") or "Unknown"
    statuses = status.get("containerStatuses", [])
    total, ready, restarts = len(spec.get("containers", [])), 0, 0
    for cs in reversed(statuses):
        restarts += cs.get("restartCount", 0)
        state = cs.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            sig, code = term.get("signal", 0), term.get("exitCode", 0)
            reason = f"Signal:{sig}" if sig else f"ExitCode:{code}"
        elif cs.get("ready") and "running" in state:
            ready += 1
    if _meta(o).get("deletionTimestamp") and status.get("reason") != "NodeLost":
        reason = "Terminating"
    return reason, ready, total, restarts


def print_pod(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    reason, ready, total, restarts = pod_status_reason(o)
    spec, status = o.get("spec", {}), o.get("status", {})
    gates = spec.get("readinessGates") or []
    return [
        _meta(o).get("name", ""), f"{ready}/{total}", reason, restarts,
        age(_meta(o).get("creationTimestamp"), now),
        _or_none(status.get("podIP")), _or_none(spec.get("nodeName")),
        _or_none(status.get("nominatedNodeName")),
        f"0/{len(gates)}" if gates else "<none>",
    ]  # fmt: skip


def print_node(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    status, spec, meta = o.get("status", {}), o.get("spec", {}), _meta(o)
    conds = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
    state = (
        "Ready" if conds.get("Ready") == "True" else "NotReady" if "Ready" in conds else "Unknown"
    )
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(
        k.removeprefix("node-role.kubernetes.io/")
        for k in meta.get("labels", {})
        if k.startswith("node-role.kubernetes.io/")
    )
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses", [])}
    info = status.get("nodeInfo", {})
    return [
        meta.get("name", ""), state, ",".join(roles) or "<none>",
        age(meta.get("creationTimestamp"), now), info.get("kubeletVersion", ""),
        _or_none(addrs.get("InternalIP")), _or_none(addrs.get("ExternalIP")),
        _or_none(info.get("osImage")), _or_none(info.get("kernelVersion")),
        _or_none(info.get("containerRuntimeVersion")),
    ]  # fmt: skip


def _ports(ports: list[dict[str, Any]]) -> str:
    out = []
    for p in ports:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        out.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def print_service(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    spec, meta = o.get("spec", {}), _meta(o)
    typ = spec.get("type", "ClusterIP")
    external = ",".join(spec.get("externalIPs", []))
    if typ == "ExternalName":
        external = spec.get("externalName", "")
    elif typ == "LoadBalancer":
        ingress = o.get("status", {}).get("loadBalancer", {}).get("ingress", [])
        external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or "<pending>"
    selector = ",".join(f"{k}={v}" for k, v in sorted(spec.get("selector", {}).items()))
    return [
        meta.get("name", ""), typ, _or_none(spec.get("clusterIP")), external or "<none>",
        _ports(spec.get("ports", [])), age(meta.get("creationTimestamp"), now), selector or "<none>",
    ]  # fmt: skip


def print_endpoint_slice(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    ports = ",".join(str(p.get("port", "")) for p in o.get("ports") or []) or "<unset>"
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses", [])]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [
        _meta(o).get("name", ""), o.get("addressType", ""), ports, shown or "<unset>",
        age(_meta(o).get("creationTimestamp"), now),
    ]  # fmt: skip


def print_endpoints(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    eps = []
    for s in o.get("subsets") or []:
        for a in s.get("addresses") or []:
            for p in s.get("ports") or [{}]:
                eps.append(f"{a.get('ip')}:{p.get('port')}" if p else a.get("ip"))
    shown = ",".join(eps[:3]) + (f" + {len(eps) - 3} more..." if len(eps) > 3 else "")
    return [
        _meta(o).get("name", ""),
        shown or "<none>",
        age(_meta(o).get("creationTimestamp"), now),
    ]


def print_deployment(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    spec, status = o.get("spec", {}), o.get("status", {})
    names, images = _containers(spec.get("template", {}))
    return [
        _meta(o).get("name", ""), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
        age(_meta(o).get("creationTimestamp"), now), names, images, _selector(spec.get("selector")),
    ]  # fmt: skip


def print_replica_set(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    spec, status = o.get("spec", {}), o.get("status", {})
    names, images = _containers(spec.get("template", {}))
    return [
        _meta(o).get("name", ""), spec.get("replicas", 1), status.get("replicas", 0),
        status.get("readyReplicas", 0), age(_meta(o).get("creationTimestamp"), now),
        names, images, _selector(spec.get("selector")),
    ]  # fmt: skip


def print_event(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    meta, inv = _meta(o), o.get("involvedObject", {})
    last = o.get("lastTimestamp") or o.get("eventTime") or meta.get("creationTimestamp")
    first = o.get("firstTimestamp") or o.get("eventTime") or meta.get("creationTimestamp")
    source = o.get("source", {}).get("component") or o.get("reportingComponent", "")
    if o.get("source", {}).get("host"):
        source += ", " + o["source"]["host"]
    obj_name = f"{inv.get('kind', '').lower()}/{inv.get('name', '')}"
    return [
        age(last, now), o.get("type", ""), o.get("reason", ""), obj_name,
        inv.get("fieldPath", ""), source, o.get("message", ""), age(first, now),
        o.get("count", 1), meta.get("name", ""),
    ]  # fmt: skip


def _name_age(extra: Callable[[Obj], list[Any]]) -> Printer:
    def printer(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
        return [_meta(o).get("name", ""), *extra(o), age(_meta(o).get("creationTimestamp"), now)]

    return printer


def print_default(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    return [_meta(o).get("name", ""), _meta(o).get("creationTimestamp", "")]


def _binding_subjects(o: Obj, kind: str) -> str:
    subs = o.get("subjects") or []
    if kind == "ServiceAccount":
        return ",".join(
            f"{s.get('namespace', '')}/{s.get('name')}" for s in subs if s.get("kind") == kind
        )
    return ",".join(s.get("name", "") for s in subs if s.get("kind") == kind)


def print_binding(o: Obj, now: datetime, age: AgeFn) -> list[Any]:
    ref = o.get("roleRef", {})
    return [
        _meta(o).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(_meta(o).get("creationTimestamp"), now), _binding_subjects(o, "User"),
        _binding_subjects(o, "Group"), _binding_subjects(o, "ServiceAccount"),
    ]  # fmt: skip


WIDE = ("Containers", "Images", "Selector")
BINDING_COLUMNS = [NAME, _col("Role"), AGE, _col("Users", priority=1), _col("Groups", priority=1), _col("ServiceAccounts", priority=1)]  # fmt: skip

TABLES: dict[str, tuple[list[Column], Printer]] = {
    "Pod": ([NAME, _col("Ready"), _col("Status"), _col("Restarts", "integer"), AGE, _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], print_pod),
    "Node": ([NAME, _col("Status"), _col("Roles"), AGE, _col("Version"), _col("Internal-IP", priority=1), _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1), _col("Container-Runtime", priority=1)], print_node),
    "Service": ([NAME, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE, _col("Selector", priority=1)], print_service),
    "EndpointSlice": ([NAME, _col("AddressType"), _col("Ports"), _col("Endpoints"), AGE], print_endpoint_slice),
    "Endpoints": ([NAME, _col("Endpoints"), AGE], print_endpoints),
    "Deployment": ([NAME, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE, *(_col(c, priority=1) for c in WIDE)], print_deployment),
    "ReplicaSet": ([NAME, _col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer"), AGE, *(_col(c, priority=1) for c in WIDE)], print_replica_set),
    "Namespace": ([NAME, _col("Status"), AGE], _name_age(lambda o: [o.get("status", {}).get("phase", "")])),
    "Event": ([_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Subobject", priority=1), _col("Source", priority=1), _col("Message"), _col("First Seen", priority=1), _col("Count", "integer", 1), ("Name", "string", "name", "", 1)], print_event),
    "ConfigMap": ([NAME, _col("Data", "integer"), AGE], _name_age(lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})])),
    "Secret": ([NAME, _col("Type"), _col("Data", "integer"), AGE], _name_age(lambda o: [o.get("type", ""), len(o.get("data") or {})])),
    "ServiceAccount": ([NAME, _col("Secrets", "integer"), AGE], _name_age(lambda o: [len(o.get("secrets") or [])])),
    "Lease": ([NAME, _col("Holder"), AGE], _name_age(lambda o: [o.get("spec", {}).get("holderIdentity", "")])),
    "MutatingWebhookConfiguration": ([NAME, _col("Webhooks", "integer"), AGE], _name_age(lambda o: [len(o.get("webhooks") or [])])),
    "ValidatingWebhookConfiguration": ([NAME, _col("Webhooks", "integer"), AGE], _name_age(lambda o: [len(o.get("webhooks") or [])])),
    "RoleBinding": (BINDING_COLUMNS, print_binding),
    "ClusterRoleBinding": (BINDING_COLUMNS, print_binding),
    "PriorityClass": ([NAME, _col("Value", "integer"), _col("Global-Default", "boolean"), AGE, _col("PreemptionPolicy")], lambda o, now, age: [_meta(o).get("name", ""), o.get("value", 0), bool(o.get("globalDefault")), age(_meta(o).get("creationTimestamp"), now), o.get("preemptionPolicy", "")]),
    "PodTemplate": ([NAME, _col("Containers"), _col("Images"), _col("Pod Labels")], lambda o, now, age: [_meta(o).get("name", ""), *_containers(o.get("template", {})), ",".join(f"{k}={v}" for k, v in sorted(o.get("template", {}).get("metadata", {}).get("labels", {}).items())) or "<none>"]),
}  # fmt: skip

DEFAULT: tuple[list[Column], Printer] = (
    [NAME, ("Created At", "date", "", "CreationTimestamp is when the object was created.", 0)],
    print_default,
)


def for_kind(kind: str) -> tuple[list[Column], Printer]:
    return TABLES.get(kind, DEFAULT)
