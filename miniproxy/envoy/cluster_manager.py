"""The cluster manager: every cluster by name, added statically or by CDS, fed by EDS.

Mirrors source/common/upstream/cluster_manager_impl.cc (ClusterManagerImpl::addOrUpdateCluster,
removeCluster, the `cluster_manager.` stats) and source/common/upstream/cds_api_impl.cc
(a CDS update is the full set: clusters missing from it are removed, unless static).
A changed cluster is rebuilt and swapped in; requests already on the old one finish there.
Omitted: cluster warming (a new cluster serves as soon as it is added), on-demand CDS.
"""

from __future__ import annotations

import logging
import random

from envoy.config.cluster.v3 import cluster_pb2

from miniproxy.envoy.cluster import Cluster, hosts_from_assignment
from miniproxy.envoy.stats import Store

log = logging.getLogger("miniproxy.envoy.cluster_manager")


class ClusterManager:
    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self.clusters: dict[str, Cluster] = {}
        self.pending_assignments: dict[str, object] = {}
        self.on_eds_interest = None  # fn(set of EDS names) when the set of EDS clusters changes
        self.on_change = None  # fn() when a cluster, its hosts or their health changed
        s = store.scope("cluster_manager.")
        self.active_clusters = s.gauge("active_clusters")
        self.cluster_added = s.counter("cluster_added")
        self.cluster_modified = s.counter("cluster_modified")
        self.cluster_removed = s.counter("cluster_removed")
        self.started = False

    def add_or_update_cluster(self, pb: cluster_pb2.Cluster, added_via_api: bool = False) -> bool:
        """True when something changed (addOrUpdateCluster returns false for an identical proto)."""
        old = self.clusters.get(pb.name)
        if old is not None and old.pb == pb:
            return False
        cluster = Cluster(pb, self.store, self.rng, added_via_api)
        if cluster.type == "EDS":
            cla = self.pending_assignments.get(cluster.eds_service_name)
            if cla is not None:
                cluster.update_hosts(hosts_from_assignment(cla))
            elif old is not None and old.type == "EDS":
                cluster.update_hosts(old.hosts)
        if old is not None:
            old.stop()
            self.cluster_modified.inc()
        else:
            self.cluster_added.inc()
        self.clusters[pb.name] = cluster
        cluster.on_change = self._changed
        if self.started:
            cluster.start()
        self.active_clusters.set(len(self.clusters))
        self._eds_interest_changed()
        self._changed()
        return True

    def remove_cluster(self, name: str) -> bool:
        c = self.clusters.get(name)
        if c is None or not c.added_via_api:
            return False
        c.stop()
        del self.clusters[name]
        self.cluster_removed.inc()
        self.active_clusters.set(len(self.clusters))
        self._eds_interest_changed()
        self._changed()
        return True

    def apply_cds(self, clusters: list[cluster_pb2.Cluster]) -> None:
        names = {c.name for c in clusters}
        for c in clusters:
            self.add_or_update_cluster(c, added_via_api=True)
        for name in [n for n, c in self.clusters.items() if c.added_via_api and n not in names]:
            self.remove_cluster(name)

    def apply_eds(self, assignments: list) -> None:
        for cla in assignments:
            self.pending_assignments[cla.cluster_name] = cla
            for c in self.clusters.values():
                if c.type == "EDS" and c.eds_service_name == cla.cluster_name:
                    c.update_hosts(hosts_from_assignment(cla))

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def eds_names(self) -> list[str]:
        return sorted({c.eds_service_name for c in self.clusters.values() if c.type == "EDS"})

    def _eds_interest_changed(self) -> None:
        if self.on_eds_interest is not None:
            self.on_eds_interest(self.eds_names())

    def get(self, name: str) -> Cluster | None:
        return self.clusters.get(name)

    def start(self) -> None:
        self.started = True
        for c in self.clusters.values():
            c.start()

    def stop(self) -> None:
        for c in self.clusters.values():
            c.stop()

    def all_initialized(self) -> bool:
        return all(c.initialized.is_set() for c in self.clusters.values())
