"""Service REST pieces: ClusterIP and NodePort allocation (pkg/registry/core/service)."""
