"""The generic registry and per-kind strategies (apiserver/pkg/registry, pkg/registry)."""
