"""minikubelet: a kubelet clone that runs pods as real containers (see docs/minikubelet.md)."""
