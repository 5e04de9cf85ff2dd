"""The Website operator, written like kubernetes/sample-controller with miniclient.

Mirrors k8s.io/sample-controller/controller.go (informers feed a rate-limited
workqueue of keys; syncHandler makes the world match one Website: a Deployment
and a Service owned by it, then writes the Website's status through /status).
Objects stay unstructured dicts, as a dynamic client's are. Run it against a
server where examples/operator/website-crd.yaml is applied:

    python examples/operator/controller.py --kubeconfig ~/.kube/config [-n default]

Omitted: leader election, events, the finalizer-based cleanup kopf does (owner
references let the garbage collector remove the children instead).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
from typing import Any

from miniapi import errors
from miniapi.runtime import GroupVersionResource
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import meta_namespace_key_func, split_meta_namespace_key
from miniclient.informers import SharedInformerFactory
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue

log = logging.getLogger("website-controller")

WEBSITES = GroupVersionResource("example.com", "v1", "websites")
DEPLOYMENTS = GroupVersionResource("apps", "v1", "deployments")
SERVICES = GroupVersionResource("", "v1", "services")


def owner_reference(website: dict) -> dict:
    meta = website["metadata"]
    return {"apiVersion": website["apiVersion"], "kind": "Website", "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}  # fmt: skip


def new_deployment(website: dict) -> dict:
    """newDeployment: the Deployment a Website wants (owned by it)."""
    name, spec = website["metadata"]["name"], website["spec"]
    labels = {"app": name, "controller": "website"}
    container = {"name": "web", "image": spec["image"], "ports": [{"containerPort": spec["port"]}]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": website["metadata"]["namespace"],
                     "labels": labels, "ownerReferences": [owner_reference(website)]},
        "spec": {"replicas": spec["replicas"], "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }  # fmt: skip


def new_service(website: dict) -> dict:
    name, port = website["metadata"]["name"], website["spec"]["port"]
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": website["metadata"]["namespace"],
                     "ownerReferences": [owner_reference(website)]},
        "spec": {"selector": {"app": name, "controller": "website"},
                 "ports": [{"port": port, "targetPort": port}]},
    }  # fmt: skip


class Controller:
    """Websites in, Deployments and Services out."""

    def __init__(self, client: Client, factory: SharedInformerFactory) -> None:
        self.client = client
        self.websites = factory.for_resource(WEBSITES)
        self.deployments = factory.for_resource(DEPLOYMENTS)
        self.services = factory.for_resource(SERVICES)
        self.queue = RateLimitingQueue(name="websites")
        self.websites.add_event_handler(ResourceEventHandlerFuncs(
            add_func=self.enqueue, update_func=lambda old, new: self.enqueue(new)))  # fmt: skip
        # A change to a child wakes its owner up, so a deleted Deployment comes back.
        self.deployments.add_event_handler(ResourceEventHandlerFuncs(
            update_func=lambda old, new: self.handle_object(new),
            delete_func=self.handle_object))  # fmt: skip

    def enqueue(self, website: dict) -> None:
        self.queue.add(meta_namespace_key_func(website))

    def handle_object(self, obj: Any) -> None:
        obj = getattr(obj, "obj", obj)  # a DeletedFinalStateUnknown carries the last state
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("kind") == "Website" and ref.get("controller"):
                self.queue.add(f"{obj['metadata']['namespace']}/{ref['name']}")

    async def run(self, workers: int = 2) -> None:
        await wait_for_cache_sync(self.websites, self.deployments, self.services)
        await asyncio.gather(*(self.worker() for _ in range(workers)))

    async def worker(self) -> None:
        while True:
            key, shutdown = await self.queue.get()
            if shutdown:
                return
            try:
                await self.sync_handler(str(key))
                self.queue.forget(key)  # success: the next failure starts a fresh backoff
            except Exception as e:
                log.info("syncing %s failed, requeued: %s", key, e)
                self.queue.add_rate_limited(key)  # transient: retry later, slower each time
            finally:
                self.queue.done(key)

    async def sync_handler(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        website = self.websites.indexer.get_by_key(key)
        if website is None:
            return  # deleted: its children go with it (ownerReferences)
        deployment = await self._ensure(DEPLOYMENTS, self.deployments, new_deployment(website))
        await self._ensure(SERVICES, self.services, new_service(website))
        status = {"deployment": deployment["metadata"]["name"], "service": name,
                  "observedGeneration": website["metadata"].get("generation", 0)}  # fmt: skip
        if website.get("status") != status:
            updated = copy.deepcopy(website)
            updated["status"] = status
            await self.client.resource(WEBSITES).update_status(updated)

    async def _ensure(self, gvr: GroupVersionResource, informer, want: dict) -> dict:  # type: ignore[no-untyped-def]
        """Create the child if missing; bring its spec back if it drifted."""
        meta = want["metadata"]
        have = informer.indexer.get_by_key(f"{meta['namespace']}/{meta['name']}")
        resource = self.client.resource(gvr)
        if have is None:
            try:
                return await resource.create(want)
            except errors.StatusError as e:
                if e.code != 409:
                    raise
                have = await resource.get(meta["name"], meta["namespace"])
        owners = (have.get("metadata") or {}).get("ownerReferences") or []
        if not any(o.get("uid") == meta["ownerReferences"][0]["uid"] for o in owners):
            raise RuntimeError(f"{gvr.resource} {meta['name']} is not controlled by its Website")
        if gvr == DEPLOYMENTS and _drifted(have["spec"], want["spec"]):
            return await resource.patch(
                meta["name"], {"spec": want["spec"]}, namespace=meta["namespace"]
            )
        return have


def _drifted(have: dict, want: dict) -> bool:
    container = have["template"]["spec"]["containers"][0]
    wanted = want["template"]["spec"]["containers"][0]
    return have.get("replicas") != want["replicas"] or container["image"] != wanted["image"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("-n", "--namespace", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    client = Client(load_kubeconfig(args.kubeconfig))
    factory = SharedInformerFactory(client, namespace=args.namespace)
    controller = Controller(client, factory)
    factory.start()
    log.info("website controller started")
    try:
        await controller.run()
    finally:
        await factory.shutdown()
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
