"""minischeduler: kube-scheduler's framework, default plugins, queue, cache and preemption.

Mirrors k8s.io/kubernetes/pkg/scheduler. The core (`schedule_one.schedule_pod`) is pure:
it takes a pod, a snapshot and a seeded `random.Random` and returns a placement or a
FitError whose message is upstream's "0/N nodes are available: ..." text.
"""
