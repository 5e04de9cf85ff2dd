"""CustomResourceDefinitions: serve, validate, prune and default custom resources.

Mirrors k8s.io/apiextensions-apiserver (pkg/apiserver, pkg/registry/customresource).
"""
