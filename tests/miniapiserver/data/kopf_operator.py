"""A kopf operator for test_apiserver_kopf.py: create/update/delete handlers with status patches."""

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.watching.server_timeout = 10
    settings.posting.enabled = False


@kopf.on.create("apps", "v1", "deployments", labels={"kopf": kopf.PRESENT})
def created(patch, **_):
    patch.metadata.labels["seen"] = "created"
    patch.status["observedGeneration"] = 7


@kopf.on.update("apps", "v1", "deployments", labels={"kopf": kopf.PRESENT})
def updated(patch, **_):
    patch.metadata.annotations["updated"] = "yes"


@kopf.on.delete("apps", "v1", "deployments", labels={"kopf": kopf.PRESENT})
def deleted(body, **_):
    print("KOPF-DELETED", body["metadata"]["name"], flush=True)
