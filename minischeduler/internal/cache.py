"""The scheduler cache: nodes and their pods, including pods assumed but not yet bound.

Mirrors pkg/scheduler/internal/cache/cache.go (cacheImpl: AssumePod, FinishBinding,
ForgetPod, AddPod, UpdatePod, RemovePod, AddNode, UpdateNode, RemoveNode,
UpdateSnapshot, cleanupAssumedPods) and node_tree.go. Time is passed in (`now`,
seconds): an assumed pod whose binding finished but was never confirmed by an
informer Add expires after `ttl`, as upstream's cleanup loop does.
Omitted: the doubly-linked recency list (generations do its job), PVC ref counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from miniapi.core.v1 import Node, Pod
from minischeduler.framework.types import ImageStateSummary, NodeInfo, PodInfo, pod_key
from minischeduler.internal.snapshot import Snapshot, interleave_zones, zone_key

DURATION_TO_EXPIRE_ASSUMED_POD = 15 * 60.0


@dataclass
class _PodState:
    pod: Pod
    deadline: float | None = None
    binding_finished: bool = False


class CacheError(Exception):
    """Upstream's fmt.Errorf messages, e.g. "pod %v(%v) is in the cache, so can't be assumed"."""


class Cache:
    """Pure: callers pass `now`; nothing here reads a clock."""

    def __init__(self, ttl: float = DURATION_TO_EXPIRE_ASSUMED_POD) -> None:
        self.ttl = ttl
        self.nodes: dict[str, NodeInfo] = {}
        self.pod_states: dict[str, _PodState] = {}
        self.assumed_pods: set[str] = set()
        self.zones: dict[str, list[str]] = {}
        self.image_nodes: dict[str, tuple[int, set[str]]] = {}
        self._tree_changed = True
        # Node names by last change, newest last: upstream's headNode linked list.
        self._recent: dict[str, None] = {}

    def _touch(self, name: str) -> None:
        self._recent.pop(name, None)
        self._recent[name] = None

    def _node_info(self, name: str) -> NodeInfo:
        ni = self.nodes.get(name)
        if ni is None:
            # A pod may arrive before its node: keep a NodeInfo without a node.
            ni = self.nodes[name] = NodeInfo()
        return ni

    def _add_pod(self, pod: Pod) -> None:
        self._node_info(pod.spec.node_name).add_pod_info(PodInfo(pod))
        self._touch(pod.spec.node_name)

    def _remove_pod(self, pod: Pod) -> None:
        ni = self.nodes.get(pod.spec.node_name)
        if ni is None:
            return
        ni.remove_pod(pod)
        self._touch(pod.spec.node_name)
        if ni.node is None and not ni.pods:
            del self.nodes[pod.spec.node_name]

    def assume_pod(self, pod: Pod) -> None:
        key = pod_key(pod)
        if key in self.pod_states:
            raise CacheError(
                f"pod {key}({pod.metadata.namespace}/{pod.metadata.name}) "
                "is in the cache, so can't be assumed"
            )
        self._add_pod(pod)
        self.pod_states[key] = _PodState(pod)
        self.assumed_pods.add(key)

    def finish_binding(self, pod: Pod, now: float) -> None:
        st = self.pod_states.get(pod_key(pod))
        if st is not None and pod_key(pod) in self.assumed_pods:
            st.deadline = now + self.ttl
            st.binding_finished = True

    def forget_pod(self, pod: Pod) -> None:
        key = pod_key(pod)
        st = self.pod_states.get(key)
        if st is None or key not in self.assumed_pods:
            raise CacheError(
                f"pod {key}({pod.metadata.namespace}/{pod.metadata.name}) "
                "wasn't assumed so cannot be forgotten"
            )
        self._remove_pod(st.pod)
        del self.pod_states[key]
        self.assumed_pods.discard(key)

    def add_pod(self, pod: Pod) -> None:
        """An informer saw a bound pod: confirm an assumed one or add a new one."""
        key = pod_key(pod)
        st = self.pod_states.get(key)
        if st is not None and key in self.assumed_pods:
            self._remove_pod(st.pod)
            self.assumed_pods.discard(key)
        elif st is not None:
            self._remove_pod(st.pod)
        self._add_pod(pod)
        self.pod_states[key] = _PodState(pod)

    def update_pod(self, old: Pod, new: Pod) -> None:
        self.remove_pod(old)
        self.add_pod(new)

    def remove_pod(self, pod: Pod) -> None:
        st = self.pod_states.pop(pod_key(pod), None)
        if st is not None:
            self._remove_pod(st.pod)
        self.assumed_pods.discard(pod_key(pod))

    def is_assumed_pod(self, pod: Pod) -> bool:
        return pod_key(pod) in self.assumed_pods

    def cleanup_assumed_pods(self, now: float) -> list[Pod]:
        """Expire assumed pods whose binding finished more than ttl ago."""
        expired = []
        for key in sorted(self.assumed_pods):
            st = self.pod_states[key]
            if st.binding_finished and st.deadline is not None and now > st.deadline:
                expired.append(st.pod)
        for pod in expired:
            self.remove_pod(pod)
        return expired

    def add_node(self, node: Node) -> None:
        ni = self._node_info(node.metadata.name)
        old = ni.node
        if old is not None:
            self._remove_images(old)
            self._remove_from_tree(old)
        ni.set_node(node)
        self._touch(node.metadata.name)
        self._add_images(node)
        self.zones.setdefault(zone_key(node), []).append(node.metadata.name)
        self._tree_changed = True

    update_node = add_node

    def remove_node(self, node: Node) -> None:
        ni = self.nodes.get(node.metadata.name)
        if ni is None or ni.node is None:
            raise CacheError(f"node {node.metadata.name} is not found")
        self._remove_images(ni.node)
        self._remove_from_tree(ni.node)
        if ni.pods:
            ni.node = None  # pods' deletions will arrive later
        else:
            del self.nodes[node.metadata.name]
        self._tree_changed = True

    def _remove_from_tree(self, node: Node) -> None:
        z = zone_key(node)
        names = self.zones.get(z, [])
        if node.metadata.name in names:
            names.remove(node.metadata.name)
        if not names:
            self.zones.pop(z, None)

    def _add_images(self, node: Node) -> None:
        for img in node.status.images:
            for name in img.names:
                size, nodes = self.image_nodes.get(name, (img.size_bytes, set()))
                nodes.add(node.metadata.name)
                self.image_nodes[name] = (size, nodes)

    def _remove_images(self, node: Node) -> None:
        for img in node.status.images:
            for name in img.names:
                entry = self.image_nodes.get(name)
                if entry:
                    entry[1].discard(node.metadata.name)
                    if not entry[1]:
                        del self.image_nodes[name]

    def node_count(self) -> int:
        return sum(1 for ni in self.nodes.values() if ni.node is not None)

    def update_snapshot(self, snap: Snapshot) -> None:
        """UpdateSnapshot: clone only NodeInfos changed since snap.generation.

        The walk goes newest-first over the recency order and stops at the first node
        the snapshot already has, so an unchanged cluster costs nothing.
        """
        rebuild = self._tree_changed
        affinity_changed = False
        newest = snap.generation
        for name in reversed(self._recent):
            ni = self.nodes.get(name)
            if ni is None:
                continue
            if ni.generation <= snap.generation:
                break
            newest = max(newest, ni.generation)
            if ni.node is None:
                continue
            clone = ni.clone()
            clone.image_states = self._image_states(ni.node)
            old = snap.node_info_map.get(name)
            if old is None or old.pods_with_affinity or clone.pods_with_affinity:
                affinity_changed = True
            snap.node_info_map[name] = clone
            idx = snap.index.get(name)
            if idx is None:
                rebuild = True
            else:
                snap.node_info_list[idx] = clone
        snap.generation = newest
        if rebuild:
            for name in [
                n for n in snap.node_info_map if n not in self.nodes or self.nodes[n].node is None
            ]:
                del snap.node_info_map[name]
            order = interleave_zones(self.zones, list(self.zones))
            snap.node_info_list = [snap.node_info_map[n] for n in order]
            snap.index = {n: i for i, n in enumerate(order)}
            self._tree_changed = False
        if rebuild or affinity_changed:
            snap.refresh_affinity_lists()

    def _image_states(self, node: Node) -> dict[str, ImageStateSummary]:
        out = {}
        for img in node.status.images:
            for name in img.names:
                size, nodes = self.image_nodes[name]
                out[name] = ImageStateSummary(size, len(nodes))
        return out
