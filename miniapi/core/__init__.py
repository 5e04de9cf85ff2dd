"""The core ("legacy", group "") API group (k8s.io/api/core)."""
