"""The policy API group (k8s.io/api/policy)."""
