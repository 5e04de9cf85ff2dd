"""Snapshot: the immutable view of the cluster one scheduling cycle reads.

Mirrors pkg/scheduler/internal/cache/snapshot.go (Snapshot, NodeInfoLister) and
node_tree.go (zone-interleaved node order). The cache refreshes it incrementally:
only NodeInfos whose generation is newer than the snapshot's are cloned again.
"""

from __future__ import annotations

from minischeduler.framework.types import NodeInfo

ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"


def zone_key(node) -> str:
    """utilnode.GetZoneKey: region + ':\\x00:' + zone, empty when neither is set."""
    labels = node.metadata.labels
    region, zone = labels.get(REGION_LABEL, ""), labels.get(ZONE_LABEL, "")
    if not region and not zone:
        return ""
    return region + ":\x00:" + zone


def interleave_zones(names_by_zone: dict[str, list[str]], zones: list[str]) -> list[str]:
    """nodeTree.list: one node from each zone in turn, so the first N nodes span zones."""
    out: list[str] = []
    idx = 0
    while True:
        added = False
        for z in zones:
            names = names_by_zone[z]
            if idx < len(names):
                out.append(names[idx])
                added = True
        if not added:
            return out
        idx += 1


class Snapshot:
    """node name -> NodeInfo, plus the ordered lists the plugins iterate."""

    def __init__(self) -> None:
        self.node_info_map: dict[str, NodeInfo] = {}
        self.node_info_list: list[NodeInfo] = []
        self.index: dict[str, int] = {}  # position of each node in node_info_list
        self.have_pods_with_affinity: list[NodeInfo] = []
        self.have_pods_with_required_anti_affinity: list[NodeInfo] = []
        self.used_pvc_set: set[str] = set()
        self.generation = 0

    @classmethod
    def from_node_infos(cls, infos: list[NodeInfo]) -> Snapshot:
        """NewSnapshot for tests and the benchmark: the given order, no cache."""
        s = cls()
        s.node_info_map = {ni.name: ni for ni in infos}
        s.node_info_list = list(infos)
        s.index = {ni.name: i for i, ni in enumerate(infos)}
        s.refresh_affinity_lists()
        return s

    def refresh_affinity_lists(self) -> None:
        self.have_pods_with_affinity = [n for n in self.node_info_list if n.pods_with_affinity]
        self.have_pods_with_required_anti_affinity = [
            n for n in self.node_info_list if n.pods_with_required_anti_affinity
        ]

    def list(self) -> list[NodeInfo]:
        return self.node_info_list

    def have_pods_with_affinity_list(self) -> list[NodeInfo]:
        return self.have_pods_with_affinity

    def have_pods_with_required_anti_affinity_list(self) -> list[NodeInfo]:
        return self.have_pods_with_required_anti_affinity

    def get(self, name: str) -> NodeInfo:
        try:
            return self.node_info_map[name]
        except KeyError:
            raise KeyError(f'nodeinfo not found for node name "{name}"') from None

    def num_nodes(self) -> int:
        return len(self.node_info_list)
