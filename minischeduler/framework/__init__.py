"""The scheduling framework: Status, CycleState, NodeInfo and the plugin runner.

Mirrors pkg/scheduler/framework (interface.go, cycle_state.go, types.go, runtime/).
"""
