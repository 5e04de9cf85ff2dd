"""The NodeLifecycle controller (pkg/controller/nodelifecycle and pkg/controller/tainteviction)."""

from minicontroller.nodelifecycle.node_lifecycle_controller import NodeLifecycleController

__all__ = ["NodeLifecycleController"]
