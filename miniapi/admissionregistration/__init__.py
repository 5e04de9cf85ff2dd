"""The admissionregistration.k8s.io API group (k8s.io/api/admissionregistration)."""
