"""The in-tree registry: plugin name -> constructor.

Mirrors pkg/scheduler/framework/plugins/registry.go (NewInTreeRegistry). Each
constructor takes the framework handle and the plugin's args (pluginConfig, as
the YAML/JSON mapping with upstream's camelCase field names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minischeduler.plugins.defaultpreemption import DefaultPreemption
from minischeduler.plugins.imagelocality import ImageLocality
from minischeduler.plugins.interpodaffinity import InterPodAffinity
from minischeduler.plugins.nodeaffinity import NodeAffinity
from minischeduler.plugins.noderesources import NodeResourcesBalancedAllocation, NodeResourcesFit
from minischeduler.plugins.podtopologyspread import PodTopologySpread
from minischeduler.plugins.schedulinggates import SchedulingGates
from minischeduler.plugins.simple import (
    DefaultBinder,
    NodeName,
    NodePorts,
    NodeUnschedulable,
    PrioritySort,
)
from minischeduler.plugins.tainttoleration import TaintToleration

Factory = Callable[[Any, dict], Any]

IN_TREE_REGISTRY: dict[str, Factory] = {
    "SchedulingGates": lambda h, a: SchedulingGates(),
    "PrioritySort": lambda h, a: PrioritySort(),
    "NodeUnschedulable": lambda h, a: NodeUnschedulable(),
    "NodeName": lambda h, a: NodeName(),
    "TaintToleration": lambda h, a: TaintToleration(),
    "NodeAffinity": lambda h, a: NodeAffinity(a),
    "NodePorts": lambda h, a: NodePorts(),
    "NodeResourcesFit": lambda h, a: NodeResourcesFit(a),
    "PodTopologySpread": PodTopologySpread,
    "InterPodAffinity": InterPodAffinity,
    "DefaultPreemption": DefaultPreemption,
    "NodeResourcesBalancedAllocation": lambda h, a: NodeResourcesBalancedAllocation(a),
    "ImageLocality": lambda h, a: ImageLocality(h),
    "DefaultBinder": lambda h, a: DefaultBinder(h),
}
