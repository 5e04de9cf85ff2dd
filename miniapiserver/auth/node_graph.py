"""Which objects a node may read: those its pods reference.

Mirrors kubernetes/plugin/pkg/auth/authorizer/node/graph.go and graph_populator.go (the
edges secret -> pod, configmap -> pod, serviceaccount -> pod, pvc -> pod, pod -> node) and
the walkers they use, pkg/api/v1/pod/util.go (VisitPodSecretNames, VisitPodConfigmapNames).
Upstream keeps a graph updated by informers and asks "is there a path from this object to
the node?"; here the question is answered from the pods bound to the node, looked up at
request time, which gives the same answers for these edges without a second copy of state.
Omitted: the pv -> pvc, volumeattachment -> node, resourceclaim and CSINode edges, and the
per-edge destination index (a performance device).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Obj = dict[str, Any]
SECRET, CONFIGMAP, SERVICEACCOUNT, PVC = "secret", "configmap", "serviceaccount", "pvc"
# Volume sources whose credentials come from a Secret named in `secretRef` (VisitPodSecretNames).
SECRET_REF_VOLUMES = ("cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageOS")


def _containers(spec: Obj) -> Iterator[Obj]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or ()


def visit_pod_secret_names(pod: Obj) -> Iterator[str]:
    """Every Secret the pod names: pull secrets, env, envFrom, volumes, projections."""
    spec = pod.get("spec") or {}
    for ref in spec.get("imagePullSecrets") or ():
        yield ref.get("name", "")
    for c in _containers(spec):
        for env in c.get("envFrom") or ():
            yield (env.get("secretRef") or {}).get("name", "")
        for env in c.get("env") or ():
            yield ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name", "")
    for vol in spec.get("volumes") or ():
        yield (vol.get("secret") or {}).get("secretName", "")
        yield (vol.get("azureFile") or {}).get("secretName", "")
        yield ((vol.get("csi") or {}).get("nodePublishSecretRef") or {}).get("name", "")
        for kind in SECRET_REF_VOLUMES:
            yield ((vol.get(kind) or {}).get("secretRef") or {}).get("name", "")
        for src in (vol.get("projected") or {}).get("sources") or ():
            yield (src.get("secret") or {}).get("name", "")


def visit_pod_configmap_names(pod: Obj) -> Iterator[str]:
    """Every ConfigMap the pod names: env, envFrom, volumes, projections."""
    spec = pod.get("spec") or {}
    for c in _containers(spec):
        for env in c.get("envFrom") or ():
            yield (env.get("configMapRef") or {}).get("name", "")
        for env in c.get("env") or ():
            yield ((env.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name", "")
    for vol in spec.get("volumes") or ():
        yield (vol.get("configMap") or {}).get("name", "")
        for src in (vol.get("projected") or {}).get("sources") or ():
            yield (src.get("configMap") or {}).get("name", "")


def visit_pod_pvc_names(pod: Obj) -> Iterator[str]:
    """Claims by name, and the claim an ephemeral volume makes (<pod>-<volume>)."""
    pod_name = (pod.get("metadata") or {}).get("name", "")
    for vol in (pod.get("spec") or {}).get("volumes") or ():
        yield (vol.get("persistentVolumeClaim") or {}).get("claimName", "")
        if vol.get("ephemeral") is not None:
            yield f"{pod_name}-{vol.get('name', '')}"


def referenced(pod: Obj, kind: str) -> Iterator[str]:
    if kind == SECRET:
        yield from visit_pod_secret_names(pod)
    elif kind == CONFIGMAP:
        yield from visit_pod_configmap_names(pod)
    elif kind == PVC:
        yield from visit_pod_pvc_names(pod)
    elif kind == SERVICEACCOUNT:
        yield (pod.get("spec") or {}).get("serviceAccountName", "")


def has_path_from(pods: Iterable[Obj], node: str, kind: str, namespace: str, name: str) -> bool:
    """hasPathFrom: some pod bound to node, in namespace, references kind/name."""
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if spec.get("nodeName") != node or meta.get("namespace") != namespace:
            continue
        if name in referenced(pod, kind):
            return True
    return False
