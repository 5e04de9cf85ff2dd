"""ImageLocality: prefer nodes that already hold the pod's container images.

Mirrors pkg/scheduler/framework/plugins/imagelocality/image_locality.go. Each image
present on the node contributes size × (nodes having it / all nodes), so a widely
spread image counts less; the sum is clamped to [23 MiB, 1000 MiB × containers] and
scaled linearly to 0..100 (Go integer arithmetic).
"""

from __future__ import annotations

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.status import MAX_NODE_SCORE, Status
from minischeduler.framework.types import NodeInfo

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def normalized_image_name(name: str) -> str:
    """An image without tag or digest means :latest."""
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    return name


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    sum_scores = min(max(sum_scores, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality:
    name = "ImageLocality"

    def __init__(self, handle) -> None:
        self.handle = handle

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        containers = list(pod.spec.init_containers) + list(pod.spec.containers)
        images = [normalized_image_name(c.image) for c in containers]
        total_nodes = max(1, self.handle.snapshot.num_nodes())
        # A node holding none of the images scores the same every time: compute it once.
        zero = calculate_priority(0, len(images))
        state.write("PreScoreImageLocality", (images, total_nodes, zero))
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        images, total_nodes, zero = state.read("PreScoreImageLocality")
        states = ni.image_states
        if not states:
            return zero, None
        total = 0
        for name in images:
            st = states.get(name)
            if st is not None:
                # scaledImageScore: size × spread, spread = nodes having it / all nodes.
                total += int(st.size * (st.num_nodes / total_nodes))
        return calculate_priority(total, len(images)), None
