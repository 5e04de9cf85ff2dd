"""The apps API group (k8s.io/api/apps)."""
