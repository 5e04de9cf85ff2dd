"""The apiextensions.k8s.io API group (k8s.io/apiextensions-apiserver/pkg/apis/apiextensions)."""
