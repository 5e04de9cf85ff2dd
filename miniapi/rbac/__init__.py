"""The rbac.authorization.k8s.io API group (k8s.io/api/rbac)."""
