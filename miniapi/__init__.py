"""miniapi: the shared Kubernetes object model (k8s.io/api + k8s.io/apimachinery).

Typed, immutable API objects (msgspec Structs with upstream's JSON names), the
scheme that maps group/version/kind to types and resources, defaulting,
validation, Status errors, resource.Quantity and label/field selectors.
See docs/miniapi.md for the map to upstream files.
"""
