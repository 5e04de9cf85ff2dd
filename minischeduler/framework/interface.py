"""Values passed across extension points: PreFilterResult, NodeScore, PostFilterResult.

Mirrors pkg/scheduler/framework/interface.go (PreFilterResult, NodeScore,
NodePluginScores, PostFilterResult, NodeToStatus, Diagnosis, FitError) and types.go.
A plugin is a plain class with `name` and the methods of the extension points it
implements (`filter`, `score`, ...); the framework looks them up once at build time.
Omitted: the Go interface declarations themselves (duck typing plays that role).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miniapi.core.v1 import Pod
from minischeduler.framework.status import Code, Status

NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
SEPARATOR_FORMAT = " {}."


@dataclass(slots=True)
class PreFilterResult:
    """PreFilterResult: None node_names means all nodes."""

    node_names: set[str] | None = None

    def all_nodes(self) -> bool:
        return self.node_names is None

    def merge(self, other: PreFilterResult | None) -> PreFilterResult:
        if other is None or other.all_nodes():
            return self
        if self.all_nodes():
            return PreFilterResult(set(other.node_names or ()))
        return PreFilterResult(self.node_names & other.node_names)


@dataclass(slots=True)
class PluginScore:
    name: str
    score: int


@dataclass(slots=True)
class NodeScore:
    name: str
    score: int


@dataclass(slots=True)
class NodePluginScores:
    """NodePluginScores: per-plugin weighted scores of one node and their total."""

    name: str
    scores: tuple[PluginScore, ...] = ()  # filled only while explaining
    total_score: int = 0


@dataclass(slots=True)
class PostFilterResult:
    nominated_node_name: str = ""


@dataclass(slots=True)
class Diagnosis:
    """Diagnosis: why each node was rejected and by which plugins."""

    node_to_status: dict[str, Status] = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""


class FitError(Exception):
    """FitError: no node fits; str() is the FailedScheduling event message."""

    def __init__(self, pod: Pod, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis

    def __str__(self) -> str:
        msg = NO_NODE_AVAILABLE_MSG.format(self.num_all_nodes) + ":"
        d = self.diagnosis
        if d.pre_filter_msg:
            msg += SEPARATOR_FORMAT.format(d.pre_filter_msg)
        else:
            # Each rejecting reason counted once per node, "count reason", sorted as strings.
            hist: dict[str, int] = {}
            for status in d.node_to_status.values():
                for r in status.reasons:
                    hist[r] = hist.get(r, 0) + 1
            parts = sorted(f"{n} {r}" for r, n in hist.items())
            if parts:
                msg += SEPARATOR_FORMAT.format(", ".join(parts))
        if d.post_filter_msg:
            msg += SEPARATOR_FORMAT.format(d.post_filter_msg)
        return msg


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, *reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, *reasons)
