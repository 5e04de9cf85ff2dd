"""The Website operator again, written with kopf (compare controller.py, miniclient).

kopf hides what controller.py spells out: the watch, the queue per object, the
retries with backoff, and the bookkeeping of what was handled (its annotations).
Run it against a server where examples/operator/website-crd.yaml is applied:

    kopf run --standalone -n default examples/operator/kopf_operator.py

Each Website gets a Deployment and a Service that kopf.adopt() makes it own; the
status is written through the /status subresource.
"""

from __future__ import annotations

import kopf
import kubernetes
from kubernetes.client.rest import ApiException


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: object) -> None:
    kubernetes.config.load_kube_config()
    settings.posting.enabled = False  # no Events: keep the example to the resources


def _children(name: str, spec: dict) -> tuple[dict, dict]:
    labels = {"app": name, "controller": "website-kopf"}
    port = spec.get("port", 80)
    container = {"name": "web", "image": spec["image"], "ports": [{"containerPort": port}]}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": spec.get("replicas", 1), "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": labels, "ports": [{"port": port, "targetPort": port}]},
    }  # fmt: skip
    return deployment, service


@kopf.on.create("example.com", "v1", "websites")
@kopf.on.update("example.com", "v1", "websites", field="spec")
def reconcile(spec, name, namespace, patch, meta, **_):  # type: ignore[no-untyped-def]
    deployment, service = _children(name, dict(spec))
    kopf.adopt([deployment, service])  # ownerReferences to the Website, and its namespace
    apps, core = kubernetes.client.AppsV1Api(), kubernetes.client.CoreV1Api()
    try:
        apps.create_namespaced_deployment(namespace, deployment)
    except ApiException as e:
        if e.status != 409:
            raise
        apps.patch_namespaced_deployment(name, namespace, {"spec": deployment["spec"]})
    try:
        core.create_namespaced_service(namespace, service)
    except ApiException as e:
        if e.status != 409:
            raise
    patch.status["deployment"] = name
    patch.status["service"] = name
    patch.status["observedGeneration"] = meta.get("generation", 0)
