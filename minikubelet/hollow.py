"""The hollow runtime: pods look Running and Ready without any container (kubemark / kwok).

Mirrors what kubemark's hollow kubelet gets from its fake runtime
(pkg/kubelet/cm fakes + the fake remote runtime) and kwok's stages: a pod bound to
the node is reported Running and Ready with a fake IP `delay` seconds after it was
first seen; a deleted pod goes away after its grace period (capped by `max_grace`).
Pure apart from the clock values passed in.
"""

from __future__ import annotations

import ipaddress

from miniapi.core import v1
from minikubelet.status import PodRuntimeView, RuntimeContainer


class HollowRuntime:
    def __init__(self, pod_cidr: str = "10.250.0.0/16", delay: float = 1.0) -> None:
        self.network = ipaddress.ip_network(pod_cidr)
        self.delay = delay
        self.first_seen: dict[str, float] = {}
        self.ips: dict[str, str] = {}
        self.next_ip = 2

    def _ip(self, uid: str) -> str:
        if uid not in self.ips:
            self.ips[uid] = str(self.network[self.next_ip % self.network.num_addresses])
            self.next_ip += 1
        return self.ips[uid]

    def view(self, pod: v1.Pod, now: float) -> PodRuntimeView:
        uid = pod.metadata.uid
        seen = self.first_seen.setdefault(uid, now)
        view = PodRuntimeView(runtime_name="hollow")
        if now - seen < self.delay:
            return view
        view.pod_ip = self._ip(uid)
        for c in [*pod.spec.init_containers, *pod.spec.containers]:
            init = c in pod.spec.init_containers
            view.containers.append(RuntimeContainer(
                id=f"{uid[:8]}-{c.name}", name=c.name, attempt=0,
                state="EXITED" if init else "RUNNING", created_at=seen, started_at=seen,
                finished_at=seen if init else 0.0,
            ))  # fmt: skip
        return view

    def forget(self, uid: str) -> None:
        self.first_seen.pop(uid, None)
        self.ips.pop(uid, None)
