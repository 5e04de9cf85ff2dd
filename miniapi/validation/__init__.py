"""Validation: field paths and errors, name/label syntax, and per-kind rules.

Mirrors k8s.io/apimachinery/pkg/util/validation (field/, validation.go),
apimachinery/pkg/api/validation (objectmeta.go) and the Kubernetes
pkg/apis/*/validation packages. `validate(obj)` returns the ErrorList the API
server turns into a 422 Invalid Status (see miniapi.errors.new_invalid).
"""
