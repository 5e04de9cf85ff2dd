"""REST verb handlers (apiserver/pkg/endpoints/handlers)."""
