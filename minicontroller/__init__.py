"""minicontroller: a small Python clone of kube-controller-manager (pkg/controller).

Controllers present: `deployment`, `endpointslice`, `replicaset`. `controller_utils` holds the expectations,
pod ranking and slow-start helpers they share; `__main__` wires the program.
See docs/minicontroller.md.
"""
